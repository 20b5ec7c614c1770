/**
 * Parsed artifacts kept by URI within a byte budget, the least recently used dropped first.
 * Profiles are immutable and a worker checks the same models again and again: one that
 * watches many models parses each profile once, not once per check.
 */
export class ParsedCache<T> {
  private readonly entries = new Map<string, { value: T; bytes: number }>();
  private held = 0;

  constructor(private readonly budgetBytes: number) {}

  async get(uri: string, load: (uri: string) => Promise<{ value: T; bytes: number }>): Promise<T> {
    const hit = this.entries.get(uri);
    if (hit) {
      // Map order is insertion order: re-inserting marks it the most recently used.
      this.entries.delete(uri);
      this.entries.set(uri, hit);
      return hit.value;
    }
    const loaded = await load(uri);
    if (!this.entries.has(uri)) {
      this.entries.set(uri, loaded);
      this.held += loaded.bytes;
      for (const [oldest, entry] of this.entries) {
        if (this.held <= this.budgetBytes || oldest === uri) break;
        this.entries.delete(oldest);
        this.held -= entry.bytes;
      }
    }
    return loaded.value;
  }

  get size(): number {
    return this.entries.size;
  }
}

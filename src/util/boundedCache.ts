/** A map that keeps at most `size` entries, dropping the oldest: for values that never go stale (content-addressed, or keyed by what they show). */
export class BoundedCache<K, V> {
  private readonly entries = new Map<K, V>();
  constructor(private readonly size: number) {}

  /** The cached value, or `compute`'s, kept. A `compute` that throws keeps nothing. */
  get(key: K, compute: () => V): V {
    if (this.entries.has(key)) return this.entries.get(key)!;
    const value = compute();
    if (this.entries.size >= this.size) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, value);
    return value;
  }

  delete(key: K): void {
    this.entries.delete(key);
  }
}

/** `cache.get` for a value computed asynchronously: a computation that fails is not kept. */
export function cachedPromise<K, T>(cache: BoundedCache<K, Promise<T>>, key: K, compute: () => Promise<T>): Promise<T> {
  return cache.get(key, () =>
    compute().catch((err: unknown) => {
      cache.delete(key);
      throw err;
    }),
  );
}

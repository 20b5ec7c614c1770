/** Failed requests of one kind by HTTP status (`network`: nothing answered), and the last reason given. */
export class ErrorCounts {
  readonly byStatus: Record<string, number> = {};
  last: string | null = null;

  count(status: number | 'network', error: string): void {
    const key = String(status);
    this.byStatus[key] = (this.byStatus[key] ?? 0) + 1;
    this.last = `${key}: ${error}`;
  }

  get total(): number {
    return Object.values(this.byStatus).reduce((a, b) => a + b, 0);
  }
}

/**
 * At most one read in flight per key: callers asking for a key while its read is under way share
 * that read's promise (its answer or its failure) instead of sending their own. The entry goes as
 * soon as the read settles, so the next caller after it starts a new one.
 */
export class SingleFlight<K, V> {
  private readonly inFlight = new Map<K, Promise<V>>();

  /** Reads under way. */
  get size(): number {
    return this.inFlight.size;
  }

  /** Joins the read in flight for `key`, or starts `read()` as that read. */
  run(key: K, read: () => Promise<V>): Promise<V> {
    const running = this.inFlight.get(key);
    if (running !== undefined) return running;
    const started = read();
    this.inFlight.set(key, started);
    // Only our own entry: after clear() the key may already belong to a newer read.
    const settled = (): void => {
      if (this.inFlight.get(key) === started) this.inFlight.delete(key);
    };
    started.then(settled, settled);
    return started;
  }

  /**
   * Starts `read()` for `key` unless a read is in flight, for nobody to wait on: its failure stops
   * here (the read reports what needs reporting), while callers joining it meanwhile still get it.
   */
  start(key: K, read: () => Promise<V>): void {
    if (this.inFlight.has(key)) return;
    this.run(key, read).catch(() => undefined);
  }

  /** Later callers start new reads; the reads already in flight still answer the callers holding them. */
  clear(): void {
    this.inFlight.clear();
  }
}

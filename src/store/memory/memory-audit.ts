import { AUDIT_ZERO_HASH, type AuditHead } from '../store.port';

/** The embedded store's audit log: the same compare-and-append and trimming as the Redis script, in one process. */
export class MemoryAudit {
  private readonly entries = new Map<number, string>();
  private head: AuditHead = { seq: 0, hash: AUDIT_ZERO_HASH, first: 1 };

  current(): AuditHead {
    return { ...this.head };
  }

  append(expected: { seq: number; hash: string }, entryJson: string, hash: string, maxEntries: number): boolean {
    if (expected.seq !== this.head.seq || expected.hash !== this.head.hash) return false;
    const seq = this.head.seq + 1;
    this.entries.set(seq, entryJson);
    let first = this.head.seq === 0 ? 1 : this.head.first;
    while (seq - first + 1 > maxEntries) this.entries.delete(first++);
    this.head = { seq, hash, first };
    return true;
  }

  read(fromSeq: number, count: number): (string | null)[] {
    return Array.from({ length: Math.max(0, count) }, (_, i) => this.entries.get(fromSeq + i) ?? null);
  }
}

import { hash } from 'node:crypto';
import type * as z from 'zod';
import type { AuditEntrySchema } from './audit-entry.schema';

/** One audit entry (SPEC §14), declared once in audit-entry.schema.ts. */
export type AuditEntry = z.output<typeof AuditEntrySchema>;

export type UnhashedEntry = Omit<AuditEntry, 'hash'>;

/** The entry without `hash`, its keys in SPEC order whatever order it was built or stored in. */
export function canonical(entry: UnhashedEntry): string {
  const { seq, time, actor, action, tenantId, target, requestId, prevHash } = entry;
  return JSON.stringify({ seq, time, actor, action, tenantId, target, requestId, prevHash });
}

/** SPEC §14: SHA-256 hex of prevHash + "\n" + the entry without hash. */
export function entryHash(entry: UnhashedEntry): string {
  return hash('sha256', `${entry.prevHash}\n${canonical(entry)}`, 'hex');
}

const FIELDS = ['seq', 'time', 'actor', 'action', 'tenantId', 'target', 'requestId', 'prevHash', 'hash'] as const;

/** A stored entry, or null when it is not one (exactly the SPEC fields, each of its type). */
export function parseEntry(json: string): AuditEntry | null {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const fields = value as Record<string, unknown>;
  const keys = Object.keys(fields);
  if (keys.length !== FIELDS.length || !FIELDS.every((f) => keys.includes(f))) return null;
  const text = (v: unknown) => typeof v === 'string';
  const orNull = (v: unknown) => v === null || typeof v === 'string';
  if (!Number.isSafeInteger(fields.seq) || !text(fields.time) || !text(fields.actor) || !text(fields.action)) return null;
  if (!orNull(fields.tenantId) || !orNull(fields.target) || !text(fields.requestId) || !text(fields.prevHash) || !text(fields.hash)) return null;
  return fields as unknown as AuditEntry;
}

export type Verdict = { ok: true } | { ok: false; firstBadSeq: number; reason: string };

/**
 * Checks entries `first`..`head.seq` in order, as read (null: missing). An entry is bad when it is
 * missing, unreadable, not at its seq, or its hash is not its content's; a link is broken when an
 * intact entry's prevHash is not the previous entry's hash, which means the previous one was
 * replaced (and re-hashed). The head's hash, kept apart, checks the newest entry the same way.
 * The oldest kept entry's prevHash cannot be checked: what it points at was trimmed.
 */
export class ChainVerifier {
  private prev: AuditEntry | null = null;
  private verdict: Verdict = { ok: true };

  constructor(private seq: number) {}

  /** Feeds the next entry; false once a fault was found (nothing further is read). */
  next(json: string | null): boolean {
    if (!this.verdict.ok) return false;
    const seq = this.seq++;
    const entry = json === null ? null : parseEntry(json);
    if (json === null) return this.fail(seq, 'missing');
    if (entry === null) return this.fail(seq, 'not a readable entry');
    if (entry.seq !== seq) return this.fail(seq, `holds entry ${entry.seq}: out of place`);
    const { hash: stored, ...rest } = entry;
    if (entryHash(rest) !== stored) return this.fail(seq, 'content does not match its hash');
    if (this.prev !== null && entry.prevHash !== this.prev.hash) return this.fail(seq - 1, 'replaced: the next entry does not chain to it');
    this.prev = entry;
    return true;
  }

  /** The verdict, with the head's hash checked against the newest entry. */
  finish(headHash: string): Verdict {
    if (this.verdict.ok && this.prev !== null && this.prev.hash !== headHash) {
      this.fail(this.prev.seq, 'replaced: the head does not chain to it');
    }
    return this.verdict;
  }

  private fail(firstBadSeq: number, reason: string): false {
    this.verdict = { ok: false, firstBadSeq, reason };
    return false;
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '../../config/config.types';
import { STATE_STORE, type StateStore } from '../../store/store.port';
import type { VerifyAnswer } from './audit-entry.schema';
import { ChainVerifier, entryHash, parseEntry, type AuditEntry, type UnhashedEntry } from './audit-chain';

/** Entries read per store call when verifying or listing. */
const PAGE = 500;
/** Compare-and-append attempts before giving up: each failure means another replica appended meanwhile. */
const APPEND_ATTEMPTS = 50;

/**
 * The tamper-evident audit log (SPEC §14), kept in the store. The gateway computes each entry's hash
 * chained to the head it read, and the store appends it only if that head is still current
 * (compare-and-append, atomic): under concurrent appends from several replicas one wins, the others
 * read the new head and chain again. So `seq` has no gap and no duplicate.
 */
@Injectable()
export class AuditLog {
  constructor(
    @Inject(STATE_STORE) private readonly store: StateStore,
    @Inject(GATEWAY_CONFIG) private readonly config: Pick<GatewayConfig, 'auditMaxEntries'>,
  ) {}

  async append(fields: Omit<UnhashedEntry, 'seq' | 'time' | 'prevHash'>): Promise<AuditEntry> {
    for (let attempt = 0; attempt < APPEND_ATTEMPTS; attempt++) {
      const head = await this.store.auditHead();
      const unhashed: UnhashedEntry = {
        seq: head.seq + 1,
        time: new Date().toISOString(),
        actor: fields.actor,
        action: fields.action,
        tenantId: fields.tenantId,
        target: fields.target,
        requestId: fields.requestId,
        prevHash: head.hash,
      };
      const entry: AuditEntry = { ...unhashed, hash: entryHash(unhashed) };
      if (await this.store.appendAudit(head, JSON.stringify(entry), entry.hash, this.config.auditMaxEntries)) return entry;
      // Lost the race: a short random pause spreads the replicas that lost it together.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * (attempt + 1)));
    }
    throw new Error(`audit append lost ${APPEND_ATTEMPTS} races in a row`);
  }

  /** Entries after `afterSeq` in seq order, of one tenant or all, at most `limit`. */
  async list(tenantId: string | null, afterSeq: number, limit: number): Promise<{ entries: AuditEntry[]; nextAfterSeq: number | null }> {
    const head = await this.store.auditHead();
    const entries: AuditEntry[] = [];
    let seq = Math.max(afterSeq + 1, head.first);
    while (seq <= head.seq && entries.length < limit) {
      const page = await this.store.readAudit(seq, Math.min(PAGE, head.seq - seq + 1));
      for (const json of page) {
        const entry = json === null ? null : parseEntry(json);
        seq++;
        if (entry === null || (tenantId !== null && entry.tenantId !== tenantId)) continue;
        entries.push(entry);
        if (entries.length === limit) break;
      }
    }
    const more = entries.length === limit && seq <= head.seq;
    return { entries, nextAfterSeq: more ? entries[entries.length - 1].seq : null };
  }

  async verify(): Promise<VerifyAnswer> {
    const head = await this.store.auditHead();
    if (head.seq === 0) return { ok: true, entries: 0, firstSeq: null, lastSeq: null, head: head.hash };
    const verifier = new ChainVerifier(head.first);
    for (let seq = head.first; seq <= head.seq; seq += PAGE) {
      const page = await this.store.readAudit(seq, Math.min(PAGE, head.seq - seq + 1));
      if (!page.every((json) => verifier.next(json))) break;
    }
    const verdict = verifier.finish(head.hash);
    if (!verdict.ok) return verdict;
    return { ok: true, entries: head.seq - head.first + 1, firstSeq: head.first, lastSeq: head.seq, head: head.hash };
  }
}

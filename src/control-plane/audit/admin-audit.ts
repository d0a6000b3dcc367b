import type { IncomingMessage } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import type { ErrorCode } from '../../errors/error-table';
import { GatewayError } from '../../errors/gateway-error';
import { LOGGER, type Logger } from '../../observability/logger';
import { Metrics, type MutationAction } from '../../observability/metrics';
import { contextOf } from '../../observability/request-context';
import { StoreUnavailableError } from '../../store/store.port';
import { isTenantId } from '../../tenants/tenant.schema';
import { actorName, principalOf } from '../admin-auth/principal';
import { AuditLog } from './audit-log';

/** Who asked: `operator` or `tenant:<id>/<tokenId>`, the request id and client IP of the admin request (never its token). */
export interface Actor {
  actor: string;
  requestId: string;
  ip: string | undefined;
}

export interface AuditSubject {
  action: MutationAction;
  tenantId?: unknown;
  keyId?: unknown;
  tokenId?: unknown;
}

const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function actorOf(req: IncomingMessage): Actor {
  return {
    actor: actorName(principalOf(req)),
    requestId: contextOf(req).requestId,
    ip: (req as IncomingMessage & { ip?: string }).ip ?? req.socket.remoteAddress,
  };
}

/** Identifiers come from the URL or an unvalidated body: logged only when they have the shape of one. */
function idField(value: unknown, valid: (text: string) => boolean): string | null {
  return typeof value === 'string' && valid(value) ? value : null;
}

/** An audit line's `outcome`: `success`, or the SPEC code the mutation failed with. */
type Outcome = 'success' | ErrorCode;

function outcomeOf(err: unknown): ErrorCode {
  if (err instanceof GatewayError) return err.code;
  if (err instanceof StoreUnavailableError) return 'state_unavailable';
  return 'internal_error';
}

/**
 * The audit trail: every mutation attempt that reaches a control-plane handler writes exactly one
 * `admin` log line (SPEC §8), successful or not; a success is also appended to the tamper-evident
 * audit log (SPEC §14), whose `seq` the line then carries, and counts in control_mutations_total.
 * Keys, hashes and tokens are never among the fields.
 */
@Injectable()
export class AdminAudit {
  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(Metrics) private readonly metrics: Metrics,
    @Inject(AuditLog) private readonly log: AuditLog,
  ) {}

  /** Runs the mutation and audits it; `refine` completes the subject from the result (a new key id, create vs update). */
  async record<T>(
    actor: Actor,
    subject: AuditSubject,
    run: () => Promise<T>,
    refine?: (result: T) => Partial<AuditSubject>,
  ): Promise<T> {
    let result: T;
    try {
      result = await run();
    } catch (err) {
      this.write(actor, subject, outcomeOf(err));
      throw err;
    }
    const done = { ...subject, ...refine?.(result) };
    const seq = await this.append(actor, done);
    this.write(actor, done, 'success', seq);
    this.metrics.controlMutations.inc({ action: done.action });
    return result;
  }

  /**
   * The change is made already: an audit log that cannot be written must not turn it into an error
   * answer (the client would retry a mutation that happened). It is logged as an error instead, and
   * the `admin` line says `seq: null`.
   */
  private async append(actor: Actor, subject: AuditSubject): Promise<number | null> {
    const id = (value: unknown) => idField(value, (text) => KEY_ID.test(text));
    try {
      const entry = await this.log.append({
        actor: actor.actor,
        action: subject.action,
        tenantId: idField(subject.tenantId, isTenantId),
        target: subject.action.startsWith('key_') ? id(subject.keyId) : subject.action.startsWith('token_') ? id(subject.tokenId) : null,
        requestId: actor.requestId,
      });
      return entry.seq;
    } catch (err) {
      this.logger.error({ category: 'system', action: subject.action, requestId: actor.requestId, err }, 'audit log append failed');
      return null;
    }
  }

  private write(actor: Actor, subject: AuditSubject, outcome: Outcome, seq: number | null = null): void {
    this.logger.info(
      {
        category: 'admin',
        action: subject.action,
        tenantId: idField(subject.tenantId, isTenantId),
        // Key actions always name the key (null when none was created or the URL named no valid id).
        ...(subject.action.startsWith('key_') && { keyId: idField(subject.keyId, (id) => KEY_ID.test(id)) }),
        ...(subject.action.startsWith('token_') && { tokenId: idField(subject.tokenId, (id) => KEY_ID.test(id)) }),
        outcome,
        seq,
        actor: actor.actor,
        ip: actor.ip,
        requestId: actor.requestId,
      },
      'admin mutation',
    );
  }
}

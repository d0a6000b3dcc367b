import type { IncomingMessage } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import type { ErrorCode } from '../../errors/error-table';
import { GatewayError } from '../../errors/gateway-error';
import { LOGGER, type Logger } from '../../observability/logger';
import { Metrics, type MutationAction } from '../../observability/metrics';
import { contextOf } from '../../observability/request-context';
import { StoreUnavailableError } from '../../store/store.port';
import { isTenantId } from '../../tenants/tenant.schema';

/** Who asked: the request id and client IP of the admin request (never its token). */
export interface Actor {
  requestId: string;
  ip: string | undefined;
}

export interface AuditSubject {
  action: MutationAction;
  tenantId?: unknown;
  keyId?: unknown;
}

const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function actorOf(req: IncomingMessage): Actor {
  return { requestId: contextOf(req).requestId, ip: (req as IncomingMessage & { ip?: string }).ip ?? req.socket.remoteAddress };
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
 * The audit trail (SPEC §8, category `admin`): every mutation attempt that reaches a control-plane
 * handler writes exactly one line, successful or not; successes count in control_mutations_total.
 * Keys, hashes and tokens are never among the fields.
 */
@Injectable()
export class AdminAudit {
  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(Metrics) private readonly metrics: Metrics,
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
    this.write(actor, done, 'success');
    this.metrics.controlMutations.inc({ action: done.action });
    return result;
  }

  private write(actor: Actor, subject: AuditSubject, outcome: Outcome): void {
    this.logger.info(
      {
        category: 'admin',
        action: subject.action,
        tenantId: idField(subject.tenantId, isTenantId),
        // Key actions always name the key (null when none was created or the URL named no valid id).
        ...(subject.action.startsWith('key_') && { keyId: idField(subject.keyId, (id) => KEY_ID.test(id)) }),
        outcome,
        ip: actor.ip,
        requestId: actor.requestId,
      },
      'admin mutation',
    );
  }
}

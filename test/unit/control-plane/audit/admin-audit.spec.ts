import { AdminAudit, type Actor } from '../../../../src/control-plane/audit/admin-audit';
import { AuditLog } from '../../../../src/control-plane/audit/audit-log';
import { MemoryStore } from '../../../../src/store/memory/memory.store';
import { GatewayError } from '../../../../src/errors/gateway-error';
import { Metrics } from '../../../../src/observability/metrics';
import { StoreUnavailableError } from '../../../../src/store/store.port';
import { capturedLogger } from '../../../support/captured-logger';

function setup() {
  const { logger, lines } = capturedLogger();
  const metrics = new Metrics();
  const audit = new AdminAudit(logger, metrics, new AuditLog(new MemoryStore(), { auditMaxEntries: 100 }));
  const count = async (action: string): Promise<number> =>
    (await metrics.controlMutations.get()).values.find((v) => v.labels.action === action)?.value ?? 0;
  return { lines, audit, count };
}

const actor: Actor = { actor: 'operator', requestId: 'req-1', ip: '127.0.0.1' };

describe('AdminAudit', () => {
  it('writes one admin line for a success and counts it', async () => {
    const { lines, audit, count } = setup();
    const result = await audit.record(actor, { action: 'tenant_delete', tenantId: 'acme' }, async () => 'done');
    expect(result).toBe('done');
    expect(lines).toEqual([
      expect.objectContaining({
        category: 'admin',
        action: 'tenant_delete',
        tenantId: 'acme',
        outcome: 'success',
        seq: 1,
        actor: 'operator',
        ip: '127.0.0.1',
        requestId: 'req-1',
      }),
    ]);
    expect(lines[0]).not.toHaveProperty('keyId');
    expect(await count('tenant_delete')).toBe(1);
  });

  it('completes the subject from the result (create vs update, a new key id)', async () => {
    const { lines, audit, count } = setup();
    await audit.record(actor, { action: 'tenant_update', tenantId: 'acme' }, async () => ({ created: true }), (r) => ({
      action: r.created ? 'tenant_create' : 'tenant_update',
    }));
    await audit.record(actor, { action: 'key_create', tenantId: 'acme' }, async () => ({ keyId: 'key_0123' }), (r) => ({ keyId: r.keyId }));
    expect(lines.map((l) => [l.action, l.keyId, l.seq])).toEqual([
      ['tenant_create', undefined, 1],
      ['key_create', 'key_0123', 2],
    ]);
    expect([await count('tenant_create'), await count('tenant_update'), await count('key_create')]).toEqual([1, 0, 1]);
  });

  it.each([
    ['a GatewayError', new GatewayError('key_not_found', 'No such key.'), 'key_not_found'],
    ['a store outage', new StoreUnavailableError(), 'state_unavailable'],
    ['anything else', new Error('boom'), 'internal_error'],
  ])('audits %s with its code as outcome, rethrows it and does not count it', async (_name, err, outcome) => {
    const { lines, audit, count } = setup();
    await expect(audit.record(actor, { action: 'key_revoke', tenantId: 'acme', keyId: 'key_1' }, () => Promise.reject(err))).rejects.toBe(err);
    expect(lines).toEqual([expect.objectContaining({ category: 'admin', action: 'key_revoke', keyId: 'key_1', outcome })]);
    expect(await count('key_revoke')).toBe(0);
  });

  it('logs ids only when they have the shape of one (URL and body are untrusted)', async () => {
    const { lines, audit } = setup();
    const secretish = 'sgw_' + 'x'.repeat(60) + '/../..';
    await audit
      .record(actor, { action: 'key_revoke', tenantId: { id: 'acme' }, keyId: secretish }, () => Promise.reject(new Error('no')))
      .catch(() => undefined);
    expect(lines[0]).toMatchObject({ tenantId: null, keyId: null });
    expect(JSON.stringify(lines)).not.toContain(secretish);
  });
});

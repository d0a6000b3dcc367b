import type { KeyView } from '../tenants/key.schema';
import type { Tenant } from '../tenants/tenant.model';
import type { FileKeyFields } from '../tenants/tenants-file';
import type { DesiredTenant } from './desired-state';

/**
 * The plan of `sag apply` and `sag diff`: what to change so that the gateway matches FILE. Tenants are
 * compared field by field after both sides are normalised by the same schema; keys by their hash,
 * which the gateway shows only as its fingerprint (the last 4 hex characters).
 */

export type TenantAction = 'create' | 'update' | 'delete' | 'unchanged';
export type KeyAction = 'create' | 'update' | 'revoke' | 'unchanged';

export interface TenantStep {
  action: TenantAction;
  id: string;
  /** update: the fields that differ (top level). */
  fields: string[];
  /** create, update: the tenant to write. */
  tenant?: Tenant;
}

export interface KeyStep {
  action: KeyAction;
  tenantId: string;
  fingerprint: string;
  /** create: the SHA-256 to register. */
  hash?: string;
  /** revoke, update, unchanged: the gateway's key id. */
  keyId?: string;
  /** update: the fields that differ; create: those FILE gives. */
  fields: string[];
  /** create, update: FILE's value of each field in `fields` (a merge patch for update). */
  set?: FileKeyFields;
}

export interface Plan {
  tenants: TenantStep[];
  keys: KeyStep[];
}

export interface LiveState {
  tenants: Tenant[];
  /** Stored tenants that fail validation: rewritten when FILE names them, deleted by --prune otherwise. */
  invalidTenantIds: string[];
  /** Keys of each tenant that exists, by tenant id. */
  keys: ReadonlyMap<string, readonly KeyView[]>;
}

/** JSON with object members in a fixed order, so that two equal values compare equal. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function changedFields(live: Tenant, desired: Tenant): string[] {
  const a = live as unknown as Record<string, unknown>;
  const b = desired as unknown as Record<string, unknown>;
  const fields = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return fields.filter((f) => canonical(a[f]) !== canonical(b[f])).sort();
}

export const fingerprintOf = (hash: string): string => hash.slice(-4);

export function makePlan(desired: readonly DesiredTenant[], live: LiveState, prune: boolean): Plan {
  const plan: Plan = { tenants: [], keys: [] };
  const liveById = new Map(live.tenants.map((t) => [t.id, t]));
  const named = new Set(desired.map((d) => d.tenant.id));
  for (const { tenant, keyHashes, keyFields } of desired) {
    const current = liveById.get(tenant.id);
    if (current !== undefined) {
      const fields = changedFields(current, tenant);
      plan.tenants.push(fields.length === 0 ? { action: 'unchanged', id: tenant.id, fields } : { action: 'update', id: tenant.id, fields, tenant });
    } else if (live.invalidTenantIds.includes(tenant.id)) {
      plan.tenants.push({ action: 'update', id: tenant.id, fields: ['(stored tenant is invalid)'], tenant });
    } else {
      plan.tenants.push({ action: 'create', id: tenant.id, fields: [], tenant });
    }
    plan.keys.push(...keySteps(tenant.id, keyHashes, keyFields ?? new Map(), live.keys.get(tenant.id) ?? [], prune));
  }
  if (prune) {
    const extra = [...live.tenants.map((t) => t.id), ...live.invalidTenantIds].filter((id) => !named.has(id));
    for (const id of extra.sort()) plan.tenants.push({ action: 'delete', id, fields: [] });
  }
  return plan;
}

/** The fields FILE gives a key that differ from the live key's (a field FILE leaves out is not managed). */
export function changedKeyFields(live: KeyView, wanted: FileKeyFields): string[] {
  const differs: Record<keyof FileKeyFields, boolean> = {
    name: wanted.name !== undefined && wanted.name !== live.name,
    rateLimit: wanted.rateLimit !== undefined && canonical(wanted.rateLimit) !== canonical(live.rateLimit),
    disabled: wanted.disabled !== undefined && wanted.disabled !== live.disabled,
    expiresAt: wanted.expiresAt !== undefined && (live.expiresAt === null || Date.parse(wanted.expiresAt) !== Date.parse(live.expiresAt)),
  };
  return (Object.keys(differs) as (keyof FileKeyFields)[]).filter((f) => differs[f]);
}

const pick = (fields: FileKeyFields, names: readonly string[]): FileKeyFields =>
  Object.fromEntries(Object.entries(fields).filter(([k]) => names.includes(k)));

/** Each wanted hash matches a live key with its fingerprint; live keys left over are revoked with --prune. */
function keySteps(tenantId: string, hashes: readonly string[], wanted: ReadonlyMap<string, FileKeyFields>, liveKeys: readonly KeyView[], prune: boolean): KeyStep[] {
  const unmatched = [...liveKeys];
  const steps: KeyStep[] = [];
  for (const hash of hashes) {
    const fingerprint = fingerprintOf(hash);
    const fields = wanted.get(hash) ?? {};
    const i = unmatched.findIndex((k) => k.fingerprint === fingerprint);
    if (i >= 0) {
      const live = unmatched[i];
      const differ = changedKeyFields(live, fields);
      if (differ.length === 0) steps.push({ action: 'unchanged', tenantId, fingerprint, keyId: live.keyId, fields: [] });
      else steps.push({ action: 'update', tenantId, fingerprint, keyId: live.keyId, fields: differ, set: pick(fields, differ) });
      unmatched.splice(i, 1);
    } else {
      steps.push({ action: 'create', tenantId, fingerprint, hash, fields: Object.keys(fields).sort(), set: fields });
    }
  }
  if (prune) for (const k of unmatched) steps.push({ action: 'revoke', tenantId, fingerprint: k.fingerprint, keyId: k.keyId, fields: [] });
  return steps;
}

export const SYMBOLS: Record<TenantAction | KeyAction, string> = { create: '+', update: '~', delete: '-', revoke: '-', unchanged: '=' };

/** The number of changes in the plan (unchanged ones excluded). */
export const changeCount = (plan: Plan): number =>
  plan.tenants.filter((t) => t.action !== 'unchanged').length + plan.keys.filter((k) => k.action !== 'unchanged').length;

/** `2 to create, 1 to update, 3 unchanged`: counts of each action that occurs. */
export function summary(plan: Plan): string {
  const count = (steps: { action: string }[], label: string) => {
    const n: Record<string, number> = {};
    for (const s of steps) n[s.action] = (n[s.action] ?? 0) + 1;
    const parts = Object.entries(n).map(([action, k]) => (action === 'unchanged' ? `${k} unchanged` : `${k} to ${action}`));
    return `${label}: ${parts.length === 0 ? 'none' : parts.join(', ')}`;
  };
  return `${count(plan.tenants, 'tenants')}; ${count(plan.keys, 'keys')}`;
}

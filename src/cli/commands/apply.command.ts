import type { KeyView } from '../../tenants/key.schema';
import type { AdminClient } from '../admin-client';
import { CliFailure, EXIT, UsageError } from '../cli-error';
import type { Command, CommandContext, OptionValues } from '../command';
import { json, table, type Io } from '../output';
import { changeCount, makePlan, summary, SYMBOLS, type KeyStep, type LiveState, type Plan, type TenantStep } from '../plan';
import type { TenantListing } from './tenants.command';

/** Applies with more changes than this report their progress on stderr. */
export const PROGRESS_EVERY = 10;

const tenantPath = (id: string) => `/admin/tenants/${encodeURIComponent(id)}`;

async function liveState(client: AdminClient, ids: readonly string[]): Promise<LiveState> {
  const listing = await client.get<TenantListing>('/admin/tenants');
  const existing = new Set([...listing.tenants.map((t) => t.id), ...listing.invalidTenants.map((t) => t.id)]);
  const keys = new Map<string, readonly KeyView[]>();
  for (const id of ids.filter((i) => existing.has(i))) keys.set(id, (await client.get<{ keys: KeyView[] }>(`${tenantPath(id)}/keys`)).keys);
  return { tenants: listing.tenants, invalidTenantIds: listing.invalidTenants.map((t) => t.id), keys };
}

function render(plan: Plan): string {
  const rows = [
    ...plan.tenants.map((t) => [SYMBOLS[t.action], 'tenant', t.id, t.action === 'update' ? `update: ${t.fields.join(', ')}` : t.action]),
    ...plan.keys.map((k) => [SYMBOLS[k.action], 'key', `${k.tenantId} …${k.fingerprint}`, keyChange(k)]),
  ];
  return table(['', 'KIND', 'NAME', 'CHANGE'], rows);
}

/** `update: name, rateLimit (key_…)`, `create: name`, `unchanged (key_…)`. */
function keyChange(k: KeyStep): string {
  const what = k.action === 'update' || (k.action === 'create' && k.fields.length > 0) ? `${k.action}: ${k.fields.join(', ')}` : k.action;
  return k.keyId === undefined ? what : `${what} (${k.keyId})`;
}

const keyPath = (k: KeyStep, keyId: string) => `${tenantPath(k.tenantId)}/keys/${encodeURIComponent(keyId)}`;

/** POST with the hash and what a create takes; a key FILE wants disabled is then suspended with PATCH. */
async function createKey(c: AdminClient, k: KeyStep): Promise<void> {
  const { disabled, ...set } = k.set ?? {};
  const created = await c.post<KeyView>(`${tenantPath(k.tenantId)}/keys`, { sha256: k.hash, ...set });
  if (disabled === true) await c.patch(keyPath(k, created.keyId), { disabled });
}

/** The changes in the order they can be made: tenants first (keys need them), deletions last. */
function steps(plan: Plan): { label: string; run: (client: AdminClient) => Promise<unknown> }[] {
  const tenantWrites = plan.tenants.filter((t) => t.action === 'create' || t.action === 'update');
  const keyCreates = plan.keys.filter((k) => k.action === 'create');
  const keyUpdates = plan.keys.filter((k) => k.action === 'update');
  const keyRevokes = plan.keys.filter((k) => k.action === 'revoke');
  const deletes = plan.tenants.filter((t) => t.action === 'delete');
  const label = (s: TenantStep | KeyStep) => ('id' in s ? `${SYMBOLS[s.action]} tenant ${s.id}` : `${SYMBOLS[s.action]} key ${s.tenantId} …${s.fingerprint}`);
  return [
    ...tenantWrites.map((t) => ({ label: label(t), run: (c: AdminClient) => c.put(tenantPath(t.id), t.tenant) })),
    ...keyCreates.map((k) => ({ label: label(k), run: (c: AdminClient) => createKey(c, k) })),
    ...keyUpdates.map((k) => ({ label: label(k), run: (c: AdminClient) => c.patch(keyPath(k, k.keyId!), k.set) })),
    ...keyRevokes.map((k) => ({ label: label(k), run: (c: AdminClient) => c.delete(keyPath(k, k.keyId!)) })),
    ...deletes.map((t) => ({ label: label(t), run: (c: AdminClient) => c.delete(tenantPath(t.id)) })),
  ];
}

/** The plan for scripts: no tenant bodies, no key hashes (fingerprints name the keys). */
function planJson(plan: Plan): unknown {
  return {
    tenants: plan.tenants.map(({ action, id, fields }) => ({ action, id, fields })),
    keys: plan.keys.map(({ action, tenantId, fingerprint, keyId, fields }) => ({ action, tenantId, fingerprint, keyId: keyId ?? null, fields })),
    changes: changeCount(plan),
  };
}

function progress(io: Io, done: number, total: number, last: string): void {
  if (total <= PROGRESS_EVERY) return;
  if (io.errIsTty) io.err(`\rapplying ${done}/${total}: ${last}\x1b[K${done === total ? '\n' : ''}`);
  else if (done % PROGRESS_EVERY === 0 || done === total) io.err(`applying ${done}/${total}\n`);
}

function fileOf(values: OptionValues): string {
  if (typeof values.file !== 'string') throw new UsageError('-f FILE is required');
  return values.file;
}

async function planFor(ctx: CommandContext, values: OptionValues): Promise<Plan> {
  // Loaded here: the schemas and the YAML parser are needed by apply and diff only.
  const { readDesiredState } = await import('../desired-state');
  const desired = readDesiredState(fileOf(values));
  const live = await liveState(ctx.client(), desired.map((d) => d.tenant.id));
  return makePlan(desired, live, values.prune === true);
}

const PLAN_OPTIONS = { file: { type: 'string', short: 'f' }, prune: { type: 'boolean' } } as const;
const PLAN_HELP = [
  '-f, --file FILE       the tenants file: {"tenants":[{...tenant, "apiKeys":[...], "apiKeyHashes":[...]}]}, JSON or YAML;',
  '                      a key may be an object {"key"|"sha256", "name"?, "rateLimit"?, "disabled"?, "expiresAt"?}',
  '--prune               also delete tenants, and revoke keys, that FILE does not name',
];

export const APPLY_COMMANDS: readonly Command[] = [
  {
    words: ['apply'],
    usage: 'sag apply -f FILE [--prune] [--dry-run]',
    summary: 'make the gateway match FILE: print the plan, then apply it',
    options: { ...PLAN_OPTIONS, 'dry-run': { type: 'boolean' } },
    optionHelp: [...PLAN_HELP, '--dry-run             print the plan only'],
    async run(ctx, _args, values) {
      const plan = await planFor(ctx, values);
      const dryRun = values['dry-run'] === true;
      const todo = dryRun ? [] : steps(plan);
      if (ctx.output === 'table') ctx.io.out(render(plan) + `\n${summary(plan)}\n`);
      let done = 0;
      for (const step of todo) {
        try {
          await step.run(ctx.client());
        } catch (err) {
          const why = err instanceof CliFailure ? err : new CliFailure(String(err));
          throw new CliFailure(`applied ${done} of ${todo.length} changes; stopped at ${step.label}: ${why.message}`, why.details);
        }
        progress(ctx.io, ++done, todo.length, step.label);
      }
      if (ctx.output === 'json') return ctx.io.out(json({ ...(planJson(plan) as object), applied: done }));
      if (dryRun) ctx.io.out(changeCount(plan) === 0 ? 'No changes.\n' : 'Dry run: nothing applied.\n');
      else ctx.io.out(done === 0 ? 'No changes.\n' : `Applied ${done} change(s).\n`);
    },
  },
  {
    words: ['diff'],
    usage: 'sag diff -f FILE [--prune]',
    summary: 'print the plan only; exit 0 when the gateway matches FILE, 3 when changes are pending',
    options: PLAN_OPTIONS,
    optionHelp: PLAN_HELP,
    async run(ctx, _args, values) {
      const plan = await planFor(ctx, values);
      const changes = changeCount(plan);
      if (ctx.output === 'json') ctx.io.out(json(planJson(plan)));
      else ctx.io.out(render(plan) + `\n${summary(plan)}\n${changes === 0 ? 'In sync.' : `${changes} change(s) pending.`}\n`);
      return changes === 0 ? EXIT.ok : EXIT.pending;
    },
  },
];

import type { CreatedKey, KeyView } from '../../tenants/key.schema';
import { UsageError } from '../cli-error';
import type { Command, OptionValues } from '../command';
import { fieldTable, json, table } from '../output';

const keysPath = (tenant: string) => `/admin/tenants/${encodeURIComponent(tenant)}/keys`;
const keyPath = (tenant: string, keyId: string) => `${keysPath(tenant)}/${encodeURIComponent(keyId)}`;

/** `60:100` → `{"windowSeconds":60,"maxRequests":100}`; the gateway checks the bounds. */
export function parseRateLimit(text: string): { windowSeconds: number; maxRequests: number } {
  const match = /^(\d{1,9}):(\d{1,9})$/.exec(text);
  if (match === null) throw new UsageError(`--rate-limit "${text}" must be WINDOW_SECONDS:MAX_REQUESTS, e.g. 60:100`);
  return { windowSeconds: Number(match[1]), maxRequests: Number(match[2]) };
}

export const rateLimitText = (limit: KeyView['rateLimit'] | undefined): string => (limit ? `${limit.maxRequests}/${limit.windowSeconds}s` : '-');

/** A value and its `--no-` opposite: at most one of them; the value, null (clear) or undefined (leave). */
function either<T>(values: OptionValues, name: string, clear: string, parse: (v: string) => T): T | null | undefined {
  const value = values[name];
  if (typeof value === 'string' && values[clear] === true) throw new UsageError(`give at most one of --${name} and --${clear}`);
  if (typeof value === 'string') return parse(value);
  return values[clear] === true ? null : undefined;
}

const state = (k: KeyView) => [k.disabled ? 'disabled' : null, k.expired ? 'expired' : null].filter(Boolean).join(',') || 'active';

function keyTable(keys: readonly KeyView[]): string {
  return table(
    ['KEY ID', 'NAME', 'FINGERPRINT', 'STATE', 'RATE LIMIT', 'CREATED', 'EXPIRES'],
    keys.map((k) => [k.keyId, k.name, k.fingerprint, state(k), rateLimitText(k.rateLimit), k.createdAt, k.expiresAt ?? 'never']),
  );
}

const KEY_FIELD_HELP = [
  '--name NAME           a label, 1 to 64 printable characters',
  "--rate-limit W:MAX    the key's own limit (MAX requests per W seconds), taken beside the tenant's",
  '--expires-at TIME     the key stops working then (RFC 3339, in the future)',
];

export const KEY_COMMANDS: readonly Command[] = [
  {
    words: ['keys', 'list'],
    args: ['TENANT'],
    usage: 'sag keys list TENANT',
    summary: "a tenant's keys: name, state (active, disabled, expired), own rate limit; never the keys or their hashes",
    async run(ctx, [tenant]) {
      const { keys } = await ctx.client().get<{ keys: KeyView[] }>(keysPath(tenant));
      ctx.io.out(ctx.output === 'json' ? json({ keys }) : keyTable(keys));
    },
  },
  {
    words: ['keys', 'create'],
    args: ['TENANT'],
    usage: 'sag keys create TENANT [--sha256 HEX] [--name NAME] [--rate-limit W:MAX] [--expires-at TIME]',
    summary: 'create a key (shown once), or register an existing one by its SHA-256',
    options: { sha256: { type: 'string' }, name: { type: 'string' }, 'rate-limit': { type: 'string' }, 'expires-at': { type: 'string' } },
    optionHelp: ['--sha256 HEX          register the key with this SHA-256 instead of generating one', ...KEY_FIELD_HELP],
    async run(ctx, [tenant], values) {
      const body: Record<string, unknown> = {};
      if (typeof values.sha256 === 'string') body.sha256 = values.sha256;
      if (typeof values.name === 'string') body.name = values.name;
      if (typeof values['rate-limit'] === 'string') body.rateLimit = parseRateLimit(values['rate-limit']);
      if (typeof values['expires-at'] === 'string') body.expiresAt = values['expires-at'];
      const key = await ctx.client().post<CreatedKey>(keysPath(tenant), body);
      if (ctx.output === 'json') return ctx.io.out(json(key));
      ctx.io.out(fieldTable(key));
      if (key.apiKey !== undefined) ctx.io.err('The API key is shown this once: store it now.\n');
    },
  },
  {
    words: ['keys', 'update'],
    args: ['TENANT', 'KEY_ID'],
    usage: 'sag keys update TENANT KEY_ID [--name N|--no-name] [--rate-limit W:MAX|--no-rate-limit] [--expires-at TIME|--no-expiry] [--disable|--enable]',
    summary: 'change a key (PATCH): what is not given stays as it is',
    options: {
      name: { type: 'string' },
      'no-name': { type: 'boolean' },
      'rate-limit': { type: 'string' },
      'no-rate-limit': { type: 'boolean' },
      'expires-at': { type: 'string' },
      'no-expiry': { type: 'boolean' },
      disable: { type: 'boolean' },
      enable: { type: 'boolean' },
    },
    optionHelp: [
      ...KEY_FIELD_HELP,
      '--no-name             remove the label',
      "--no-rate-limit       remove the key's own limit (the tenant's still applies)",
      '--no-expiry           the key never expires',
      '--disable             suspend the key: requests with it answer 403 key_disabled',
      '--enable              lift the suspension',
    ],
    async run(ctx, [tenant, keyId], values) {
      const body: Record<string, unknown> = {
        name: either(values, 'name', 'no-name', (v) => v),
        rateLimit: either(values, 'rate-limit', 'no-rate-limit', parseRateLimit),
        expiresAt: either(values, 'expires-at', 'no-expiry', (v) => v),
      };
      if (values.disable === true && values.enable === true) throw new UsageError('give at most one of --disable and --enable');
      if (values.disable === true || values.enable === true) body.disabled = values.disable === true;
      for (const [k, v] of Object.entries(body)) if (v === undefined) delete body[k];
      if (Object.keys(body).length === 0) throw new UsageError('nothing to change: give at least one option');
      const key = await ctx.client().patch<KeyView>(keyPath(tenant, keyId), body);
      ctx.io.out(ctx.output === 'json' ? json(key) : fieldTable(key));
    },
  },
  {
    words: ['keys', 'revoke'],
    args: ['TENANT', 'KEY_ID'],
    usage: 'sag keys revoke TENANT KEY_ID',
    summary: 'revoke a key: it stops working on every replica within a second',
    async run(ctx, [tenant, keyId]) {
      await ctx.client().delete(keyPath(tenant, keyId));
      ctx.io.out(ctx.output === 'json' ? json({ revoked: keyId }) : `revoked key ${keyId} of tenant ${tenant}\n`);
    },
  },
];

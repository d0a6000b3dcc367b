import type { CreatedKey, KeyView } from '../../tenants/key.schema';
import type { Command } from '../command';
import { json, table } from '../output';

const keysPath = (tenant: string) => `/admin/tenants/${encodeURIComponent(tenant)}/keys`;

export const KEY_COMMANDS: readonly Command[] = [
  {
    words: ['keys', 'list'],
    args: ['TENANT'],
    usage: 'sag keys list TENANT',
    summary: "a tenant's keys (metadata only: never the keys or their hashes)",
    async run(ctx, [tenant]) {
      const { keys } = await ctx.client().get<{ keys: KeyView[] }>(keysPath(tenant));
      if (ctx.output === 'json') return ctx.io.out(json({ keys }));
      ctx.io.out(table(['KEY ID', 'FINGERPRINT', 'CREATED', 'EXPIRES'], keys.map((k) => [k.keyId, k.fingerprint, k.createdAt, k.expiresAt ?? 'never'])));
    },
  },
  {
    words: ['keys', 'create'],
    args: ['TENANT'],
    usage: 'sag keys create TENANT [--sha256 HEX] [--expires-at RFC3339]',
    summary: 'create a key (shown once), or register an existing one by its SHA-256',
    options: { sha256: { type: 'string' }, 'expires-at': { type: 'string' } },
    optionHelp: ['--sha256 HEX          register the key with this SHA-256 instead of generating one', '--expires-at TIME     the key stops working then (RFC 3339, in the future)'],
    async run(ctx, [tenant], values) {
      const body: Record<string, string> = {};
      if (typeof values.sha256 === 'string') body.sha256 = values.sha256;
      if (typeof values['expires-at'] === 'string') body.expiresAt = values['expires-at'];
      const key = await ctx.client().post<CreatedKey>(keysPath(tenant), body);
      if (ctx.output === 'json') return ctx.io.out(json(key));
      ctx.io.out(table(['FIELD', 'VALUE'], Object.entries(key)));
      if (key.apiKey !== undefined) ctx.io.err('The API key is shown this once: store it now.\n');
    },
  },
  {
    words: ['keys', 'revoke'],
    args: ['TENANT', 'KEY_ID'],
    usage: 'sag keys revoke TENANT KEY_ID',
    summary: 'revoke a key: it stops working on every replica within a second',
    async run(ctx, [tenant, keyId]) {
      await ctx.client().delete(`${keysPath(tenant)}/${encodeURIComponent(keyId)}`);
      ctx.io.out(ctx.output === 'json' ? json({ revoked: keyId }) : `revoked key ${keyId} of tenant ${tenant}\n`);
    },
  },
];

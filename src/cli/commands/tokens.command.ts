import type { CreatedToken, TokenView } from '../../tenants/key.schema';
import { UsageError } from '../cli-error';
import type { Command } from '../command';
import { fieldTable, json, table } from '../output';

const tokensPath = (tenant: string) => `/admin/tenants/${encodeURIComponent(tenant)}/tokens`;

/** SPEC §12: tokens that act for one tenant only; only the operator creates and revokes them. */
export const TOKEN_COMMANDS: readonly Command[] = [
  {
    words: ['tokens', 'list'],
    args: ['TENANT'],
    usage: 'sag tokens list TENANT',
    summary: "a tenant's admin tokens (metadata only: never the tokens or their hashes)",
    async run(ctx, [tenant]) {
      const { tokens } = await ctx.client().get<{ tokens: TokenView[] }>(tokensPath(tenant));
      if (ctx.output === 'json') return ctx.io.out(json({ tokens }));
      const rows = tokens.map((t) => [t.tokenId, t.role, t.name, t.expired ? 'expired' : 'active', t.createdAt, t.expiresAt ?? 'never']);
      ctx.io.out(table(['TOKEN ID', 'ROLE', 'NAME', 'STATE', 'CREATED', 'EXPIRES'], rows));
    },
  },
  {
    words: ['tokens', 'create'],
    args: ['TENANT'],
    usage: 'sag tokens create TENANT --role admin|viewer [--name NAME] [--expires-at TIME]',
    summary: "issue a token that acts for this tenant only (shown once): viewer reads, admin also manages the tenant's keys",
    options: { role: { type: 'string' }, name: { type: 'string' }, 'expires-at': { type: 'string' } },
    optionHelp: [
      '--role ROLE           viewer (reads the tenant, its keys, routes, audit; explains) or admin (also creates, updates, revokes its keys, lists its tokens)',
      '--name NAME           a label, 1 to 64 printable characters',
      '--expires-at TIME     the token stops working then (RFC 3339, in the future)',
    ],
    async run(ctx, [tenant], values) {
      if (values.role !== 'admin' && values.role !== 'viewer') throw new UsageError('--role admin or --role viewer is required');
      const body: Record<string, unknown> = { role: values.role };
      if (typeof values.name === 'string') body.name = values.name;
      if (typeof values['expires-at'] === 'string') body.expiresAt = values['expires-at'];
      const created = await ctx.client().post<CreatedToken>(tokensPath(tenant), body);
      if (ctx.output === 'json') return ctx.io.out(json(created));
      const { token, ...meta } = created;
      ctx.io.out(fieldTable(meta));
      ctx.io.out(`\ntoken: ${token}\n`);
      ctx.io.err('The token is shown this once: store it now (use it as SAG_ADMIN_TOKEN or X-Admin-Token).\n');
    },
  },
  {
    words: ['tokens', 'revoke'],
    args: ['TENANT', 'TOKEN_ID'],
    usage: 'sag tokens revoke TENANT TOKEN_ID',
    summary: 'revoke a token: it stops working on every replica within a second',
    async run(ctx, [tenant, tokenId]) {
      await ctx.client().delete(`${tokensPath(tenant)}/${encodeURIComponent(tokenId)}`);
      ctx.io.out(ctx.output === 'json' ? json({ revoked: tokenId }) : `revoked token ${tokenId} of tenant ${tenant}\n`);
    },
  },
];

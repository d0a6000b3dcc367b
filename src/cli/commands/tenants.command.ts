import type { Tenant } from '../../tenants/tenant.model';
import type { Command } from '../command';
import { fieldTable, json, table } from '../output';

export interface TenantListing {
  tenants: Tenant[];
  invalidTenants: { id: string; errors: { path: string; message: string }[] }[];
}

const path = (id: string) => `/admin/tenants/${encodeURIComponent(id)}`;

export const TENANT_COMMANDS: readonly Command[] = [
  {
    words: ['tenants', 'list'],
    usage: 'sag tenants list',
    summary: 'every tenant, and the stored ones that fail validation',
    async run(ctx) {
      const listing = await ctx.client().get<TenantListing>('/admin/tenants');
      if (ctx.output === 'json') return ctx.io.out(json(listing));
      const rows = listing.tenants.map((t) => [t.id, t.name, t.upstreamBaseUrl, t.allowedRoutes.length, t.disabled === true ? 'disabled' : 'enabled']);
      for (const bad of listing.invalidTenants) rows.push([bad.id, '-', '-', '-', `invalid: ${bad.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`]);
      ctx.io.out(table(['ID', 'NAME', 'UPSTREAM', 'ROUTES', 'STATE'], rows));
    },
  },
  {
    words: ['tenants', 'get'],
    args: ['ID'],
    usage: 'sag tenants get ID',
    summary: 'one tenant',
    async run(ctx, [id]) {
      const tenant = await ctx.client().get<Tenant>(path(id));
      if (ctx.output === 'json') return ctx.io.out(json(tenant));
      ctx.io.out(fieldTable(tenant));
    },
  },
  {
    words: ['tenants', 'delete'],
    args: ['ID'],
    usage: 'sag tenants delete ID',
    summary: 'delete a tenant, its keys and its rate-limit bucket',
    async run(ctx, [id]) {
      await ctx.client().delete(path(id));
      ctx.io.out(ctx.output === 'json' ? json({ deleted: id }) : `deleted tenant ${id}\n`);
    },
  },
];

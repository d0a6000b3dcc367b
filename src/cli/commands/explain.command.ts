import { UsageError } from '../cli-error';
import type { Command } from '../command';
import { json, table } from '../output';

interface Explanation {
  decision: 'allow' | 'deny';
  status: number;
  code: string | null;
  steps: ({ step: string; ok: boolean; code?: string; detail?: string } & Record<string, unknown>)[];
  upstreamUrl?: string;
}

/** `Name: value` as curl takes it. */
function header(text: string): [string, string] {
  const colon = text.indexOf(':');
  if (colon <= 0) throw new UsageError(`--header "${text}" must be "Name: value"`);
  return [text.slice(0, colon).trim(), text.slice(colon + 1).trim()];
}

/** What a step found, besides its name and verdict: normalized path, tenant, route, ... */
function findings(step: Explanation['steps'][number]): string {
  const { step: _name, ok: _ok, ...rest } = step;
  return Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}

export const EXPLAIN_COMMANDS: readonly Command[] = [
  {
    words: ['explain'],
    args: ['METHOD', 'PATH'],
    usage: 'sag explain (--api-key KEY | --tenant ID) METHOD PATH [-H "Name: value"]...',
    summary: 'what the data plane would decide for a request (PATH as after /api), step by step',
    options: { 'api-key': { type: 'string' }, tenant: { type: 'string' }, header: { type: 'string', short: 'H', multiple: true } },
    optionHelp: [
      '--api-key KEY         the key the client would send (or SAG_EXPLAIN_API_KEY)',
      '--tenant ID           explain for this tenant without a key',
      '-H, --header "N: V"   a request header, e.g. "Authorization: Bearer ..." (repeatable)',
    ],
    async run(ctx, [method, path], values) {
      const apiKey = (values['api-key'] as string | undefined) ?? ctx.env.SAG_EXPLAIN_API_KEY;
      const tenantId = values.tenant as string | undefined;
      if ((apiKey === undefined) === (tenantId === undefined)) throw new UsageError('give exactly one of --api-key or --tenant');
      const headers = Object.fromEntries(((values.header as string[] | undefined) ?? []).map(header));
      const body = { ...(apiKey !== undefined ? { apiKey } : { tenantId }), method, path, headers };
      const answer = await ctx.client().post<Explanation>('/admin/explain', body);
      if (ctx.output === 'json') return ctx.io.out(json(answer));
      ctx.io.out(table(['STEP', 'OK', 'DETAIL'], answer.steps.map((s) => [s.step, s.ok ? 'yes' : 'NO', findings(s)])));
      ctx.io.out(`\n${answer.decision} ${answer.status}${answer.code === null ? '' : ` ${answer.code}`}${answer.upstreamUrl ? ` -> ${answer.upstreamUrl}` : ''}\n`);
    },
  },
];

import { CliFailure, EXIT, UsageError } from '../cli-error';
import type { Command, CommandContext, OptionValues } from '../command';
import { json, table } from '../output';

/** SPEC §14, as the admin API sends it (the CLI reads the control plane only through its HTTP answers). */
interface AuditEntry {
  seq: number;
  time: string;
  actor: string;
  action: string;
  tenantId: string | null;
  target: string | null;
  requestId: string;
  prevHash: string;
  hash: string;
}

type VerifyAnswer =
  | { ok: true; entries: number; firstSeq: number | null; lastSeq: number | null; head: string }
  | { ok: false; firstBadSeq: number; reason: string };

interface AuditPage {
  entries: AuditEntry[];
  nextAfterSeq: number | null;
}

/** The gateway's largest page (SPEC §14); `--all` reads pages of this size unless --limit says otherwise. */
const MAX_PAGE = 1000;

function whole(values: OptionValues, name: string, min: number, max: number): number | undefined {
  const text = values[name];
  if (typeof text !== 'string') return undefined;
  if (!/^\d{1,16}$/.test(text) || Number(text) < min || Number(text) > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`);
  return Number(text);
}

const query = (params: Record<string, string | number | undefined>) =>
  new URLSearchParams(Object.entries(params).flatMap(([k, v]): [string, string][] => (v === undefined ? [] : [[k, String(v)]]))).toString();

/** One page, or with --all every page from --after on, following nextAfterSeq. */
async function read(ctx: CommandContext, values: OptionValues): Promise<AuditPage> {
  const tenantId = typeof values.tenant === 'string' ? values.tenant : undefined;
  const all = values.all === true;
  const limit = whole(values, 'limit', 1, MAX_PAGE) ?? (all ? MAX_PAGE : undefined);
  let afterSeq = whole(values, 'after', 0, Number.MAX_SAFE_INTEGER);
  const entries: AuditEntry[] = [];
  for (;;) {
    const page = await ctx.client().get<AuditPage>(`/admin/audit?${query({ tenantId, afterSeq, limit })}`);
    entries.push(...page.entries);
    if (!all || page.nextAfterSeq === null) return { entries, nextAfterSeq: page.nextAfterSeq };
    // Each page must move on: a gateway that answered the same cursor again would loop for ever.
    if (afterSeq !== undefined && page.nextAfterSeq <= afterSeq) throw new CliFailure(`the audit log did not advance past seq ${afterSeq}`);
    afterSeq = page.nextAfterSeq;
  }
}

const AUDIT_LIST = {
  args: [],
  summary: 'the audit log in seq order, a page at a time (--all: every page)',
  options: { tenant: { type: 'string' }, after: { type: 'string' }, limit: { type: 'string' }, all: { type: 'boolean' } },
  optionHelp: [
    "--tenant ID           that tenant's entries only (a tenant token sees its own tenant's only)",
    '--after SEQ           entries after this seq (the nextAfterSeq a page printed)',
    `--limit N             entries per page, 1 to ${MAX_PAGE} (default 100; --all: ${MAX_PAGE})`,
    '--all                 follow nextAfterSeq to the end of the log',
  ],
  async run(ctx: CommandContext, _args: string[], values: OptionValues) {
    const page = await read(ctx, values);
    if (ctx.output === 'json') return ctx.io.out(json(page));
    const rows = page.entries.map((e) => [e.seq, e.time, e.actor, e.action, e.tenantId, e.target, e.requestId]);
    ctx.io.out(table(['SEQ', 'TIME', 'ACTOR', 'ACTION', 'TENANT', 'TARGET', 'REQUEST ID'], rows));
    if (page.nextAfterSeq !== null) ctx.io.out(`\nmore: sag audit --after ${page.nextAfterSeq}${typeof values.tenant === 'string' ? ` --tenant ${values.tenant}` : ''}\n`);
  },
} as const;

export const AUDIT_COMMANDS: readonly Command[] = [
  { words: ['audit'], usage: 'sag audit [--tenant ID] [--after SEQ] [--limit N] [--all]', ...AUDIT_LIST },
  { words: ['audit', 'list'], usage: 'sag audit list [--tenant ID] [--after SEQ] [--limit N] [--all]', ...AUDIT_LIST, summary: 'the same as sag audit' },
  {
    words: ['audit', 'verify'],
    usage: 'sag audit verify',
    summary: 'check the hash chain of the audit log (operator): exit 0 when intact, 1 with the first bad seq',
    async run(ctx) {
      const answer = await ctx.client().get<VerifyAnswer>('/admin/audit/verify');
      if (ctx.output === 'json') ctx.io.out(json(answer));
      else if (answer.ok) ctx.io.out(`ok: ${answer.entries} entries (seq ${answer.firstSeq ?? '-'} to ${answer.lastSeq ?? '-'}), head ${answer.head}\n`);
      else ctx.io.out(`NOT OK: first bad seq ${answer.firstBadSeq}: ${answer.reason}\n`);
      if (answer.ok) return EXIT.ok;
      ctx.io.err(`sag: the audit log does not verify: first bad seq ${answer.firstBadSeq}\n`);
      return EXIT.failure;
    },
  },
];

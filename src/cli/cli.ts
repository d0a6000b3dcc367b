import { parseArgs } from 'node:util';
import { AdminClient } from './admin-client';
import { CliFailure, EXIT, UsageError } from './cli-error';
import type { Command, OptionSpec, OptionValues } from './command';
import { COMMANDS } from './commands';
import type { Io, OutputFormat } from './output';

export const DEFAULT_URL = 'http://127.0.0.1:3000';

const GLOBAL_OPTIONS: OptionSpec = {
  url: { type: 'string' },
  token: { type: 'string' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
};

const GLOBAL_HELP = [
  `--url URL             the gateway (default: SAG_URL, else ${DEFAULT_URL})`,
  '--token TOKEN         the admin token (default: SAG_ADMIN_TOKEN)',
  '-o, --output FORMAT   table (default) or json',
  '-h, --help            this help',
];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.usage.length));
  return [
    'usage: sag COMMAND [options]',
    '',
    'Manage a Secure API Gateway through its admin API.',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    '',
    'options:',
    ...GLOBAL_HELP.map((line) => `  ${line}`),
    '',
    'exit: 0 success, 1 failure, 2 usage error, 3 changes pending (diff)',
    '',
  ].join('\n');
}

function commandHelp(command: Command): string {
  return [`usage: ${command.usage}`, '', command.summary, '', 'options:', ...[...(command.optionHelp ?? []), ...GLOBAL_HELP].map((l) => `  ${l}`), ''].join('\n');
}

/** The command named by the first words of the arguments: the longest match. */
function findCommand(positionals: readonly string[]): Command | undefined {
  return [...COMMANDS]
    .sort((a, b) => b.words.length - a.words.length)
    .find((c) => c.words.every((word, i) => positionals[i] === word));
}

function parse(argv: string[], options: OptionSpec, strict: boolean): { values: OptionValues; positionals: string[] } {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Runs sag with `argv` (without node and the script) and returns the exit code; nothing here exits the process. */
export async function runCli(argv: string[], env: Readonly<Record<string, string | undefined>>, io: Io): Promise<number> {
  let command: Command | undefined;
  try {
    // First pass: find the command words, whatever options surround them.
    const allOptions = Object.assign({}, GLOBAL_OPTIONS, ...COMMANDS.map((c) => c.options ?? {})) as OptionSpec;
    const first = parse(argv, allOptions, false);
    command = findCommand(first.positionals);
    if (command === undefined) {
      if (first.values.help === true || argv.length === 0) {
        io.out(usage());
        return argv.length === 0 ? EXIT.usage : EXIT.ok;
      }
      throw new UsageError(`unknown command: ${first.positionals.join(' ') || argv.join(' ')}`);
    }
    const { values, positionals } = parse(argv, { ...GLOBAL_OPTIONS, ...command.options }, true);
    if (values.help === true) {
      io.out(commandHelp(command));
      return EXIT.ok;
    }
    const args = positionals.slice(command.words.length);
    const expected = command.args ?? [];
    if (args.length !== expected.length) {
      throw new UsageError(expected.length === 0 ? `unexpected argument: ${args.join(' ')}` : `expected ${expected.join(' ')}`);
    }
    const output = (values.output ?? 'table') as OutputFormat;
    if (output !== 'table' && output !== 'json') throw new UsageError('--output must be table or json');
    let client: AdminClient | undefined;
    const code = await command.run(
      {
        io,
        output,
        env,
        client: () => (client ??= clientFor(values, env)),
      },
      args,
      values,
    );
    return typeof code === 'number' ? code : EXIT.ok;
  } catch (err) {
    if (err instanceof UsageError) {
      const help = !err.showUsage ? '' : `\n${command === undefined ? usage() : commandHelp(command)}`;
      io.err(`sag: ${err.message}\n${help}`);
      return EXIT.usage;
    }
    if (err instanceof CliFailure) {
      io.err(`sag: ${err.message}\n${err.details.map((d) => `  ${d}\n`).join('')}`);
      return EXIT.failure;
    }
    io.err(`sag: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT.failure;
  }
}

function clientFor(values: OptionValues, env: Readonly<Record<string, string | undefined>>): AdminClient {
  const url = (values.url as string | undefined) ?? env.SAG_URL ?? DEFAULT_URL;
  const token = (values.token as string | undefined) ?? env.SAG_ADMIN_TOKEN;
  if (token === undefined || token === '') throw new UsageError('no admin token: set SAG_ADMIN_TOKEN or pass --token', false);
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw new UsageError(`--url/SAG_URL must be an http: or https: URL, got "${url}"`, false);
  return new AdminClient({ url, token });
}

import type { ParseArgsConfig } from 'node:util';
import type { AdminClient } from './admin-client';
import type { Io, OutputFormat } from './output';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface CommandContext {
  /** Built on first use: commands that fail on their arguments never need a token. */
  client(): AdminClient;
  io: Io;
  output: OutputFormat;
  /** The environment sag runs in (SAG_*). */
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * One `sag` command: its words (`tenants list`), usage, options and action. A new command is one
 * entry in commands/index.ts; the action returns the exit code (default 0).
 */
export interface Command {
  readonly words: readonly string[];
  /** The arguments after the words (`ID`, `TENANT KEY_ID`): exactly these many are taken. */
  readonly args?: readonly string[];
  /** `sag apply -f FILE [--prune] [--dry-run]` */
  readonly usage: string;
  readonly summary: string;
  readonly options?: OptionSpec;
  /** Option help lines, e.g. `-f, --file FILE   the tenants file (JSON or YAML)`. */
  readonly optionHelp?: readonly string[];
  run(ctx: CommandContext, positionals: string[], values: OptionValues): Promise<number | void>;
}

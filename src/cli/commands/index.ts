import type { Command } from '../command';
import { APPLY_COMMANDS } from './apply.command';
import { EXPLAIN_COMMANDS } from './explain.command';
import { KEY_COMMANDS } from './keys.command';
import { TENANT_COMMANDS } from './tenants.command';

/** Every sag command; a new one is an entry here (tokens, audit, keys update come with their routes). */
export const COMMANDS: readonly Command[] = [...APPLY_COMMANDS, ...TENANT_COMMANDS, ...KEY_COMMANDS, ...EXPLAIN_COMMANDS];

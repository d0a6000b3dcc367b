import type { Command } from '../command';
import { APPLY_COMMANDS } from './apply.command';
import { AUDIT_COMMANDS } from './audit.command';
import { EXPLAIN_COMMANDS } from './explain.command';
import { KEY_COMMANDS } from './keys.command';
import { TENANT_COMMANDS } from './tenants.command';
import { TOKEN_COMMANDS } from './tokens.command';

/** Every sag command; a new one is an entry here. */
export const COMMANDS: readonly Command[] = [...APPLY_COMMANDS, ...TENANT_COMMANDS, ...KEY_COMMANDS, ...TOKEN_COMMANDS, ...AUDIT_COMMANDS, ...EXPLAIN_COMMANDS];

import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { hashApiKey } from '../tenants/api-key';
import type { Tenant } from '../tenants/tenant.model';
import { parseTenantsFile, type FileKeyFields } from '../tenants/tenants-file';
import { CliFailure } from './cli-error';

/** A tenant as FILE wants it, with the hashes of its keys (plain keys are hashed here and never sent). */
export interface DesiredTenant {
  tenant: Tenant;
  keyHashes: string[];
  /** What FILE says of some keys (name, rateLimit, disabled, expiresAt), by hash; a field not given is left alone. */
  keyFields?: ReadonlyMap<string, FileKeyFields>;
}

/**
 * Reads FILE in the TENANTS_FILE format (SPEC §6), JSON or YAML (by extension: .yaml/.yml), and holds
 * it to the same schema the gateway does: every problem is reported with its path. Messages never
 * quote the file's text, which holds API keys.
 */
export function readDesiredState(file: string): DesiredTenant[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliFailure(`cannot read ${file}: ${(err as Error).message}`);
  }
  let jsonText = text;
  if (['.yaml', '.yml'].includes(extname(file).toLowerCase())) {
    try {
      jsonText = JSON.stringify(parseYaml(text) ?? null);
    } catch (err) {
      throw new CliFailure(`${file} is not valid YAML`, [yamlProblem(err)]);
    }
  }
  // The gateway decides what it accepts of http: JWKS URIs (JWKS_ALLOW_HTTP); FILE is checked for everything else.
  const result = parseTenantsFile(jsonText, { jwksAllowHttp: true });
  if (!result.ok) {
    throw new CliFailure(
      `${file} is not a valid tenants file (${result.errors.length} problem(s))`,
      result.errors.map((e) => `${e.path || '(root)'}: ${e.message}`),
    );
  }
  return result.entries.map(({ tenant, apiKeys, apiKeyHashes, keyFields }) => ({
    tenant,
    keyHashes: [...new Set([...apiKeys.map(hashApiKey), ...apiKeyHashes])],
    keyFields,
  }));
}

/** The parser's reason and position, without the excerpt of the file it would quote. */
function yamlProblem(err: unknown): string {
  if (!(err instanceof YAMLParseError)) return (err as Error).message;
  const [start] = err.linePos ?? [];
  const reason = err.message.split(/ at line \d+/)[0];
  return start === undefined ? reason : `line ${start.line}, column ${start.col}: ${reason}`;
}

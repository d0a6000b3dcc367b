import type { ValidationIssue } from '../errors/gateway-error';
import { hashApiKey } from './api-key';
import type { Tenant } from './tenant.model';
import { isObject, validateTenant, type ValidatorOptions } from './tenant.validator';
import { errorMessage } from '../errors/error-message';

export interface TenantsFileEntry {
  tenant: Tenant;
  /** Plain API keys, hashed by the caller before they are stored. */
  apiKeys: string[];
  /** SHA-256 hex of existing keys, lower-cased. */
  apiKeyHashes: string[];
}

export type TenantsFileResult = { ok: true; entries: TenantsFileEntry[] } | { ok: false; errors: ValidationIssue[] };

const FILE_FIELDS = ['tenants'];
const KEY_FIELDS = ['apiKeys', 'apiKeyHashes'];
const API_KEY_PATTERN = /^[\x21-\x7e]{16,512}$/;
const HASH_PATTERN = /^[0-9a-fA-F]{64}$/;

/**
 * SPEC §6: the TENANTS_FILE format, `{"tenants":[{...tenant, "apiKeys":[...], "apiKeyHashes":[...]}]}`.
 * Every tenant is checked by `validateTenant` (its problems are reported under `tenants[i].`), and
 * every problem in the file is reported at once. Messages never repeat an API key.
 */
export function parseTenantsFile(text: string, opts: ValidatorOptions): TenantsFileResult {
  let parsed: unknown;
  try {
    // Editors on some platforms save UTF-8 with a byte order mark, which JSON.parse refuses.
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    return { ok: false, errors: [{ path: '', message: `not valid JSON: ${syntaxErrorMessage(err)}` }] };
  }
  if (!isObject(parsed)) return { ok: false, errors: [{ path: '', message: 'must be a JSON object' }] };

  const errors: ValidationIssue[] = [];
  for (const key of Object.keys(parsed)) {
    if (!FILE_FIELDS.includes(key)) errors.push({ path: key, message: 'unknown field' });
  }
  const tenants = Object.hasOwn(parsed, 'tenants') ? parsed.tenants : undefined;
  if (!Array.isArray(tenants)) {
    errors.push({ path: 'tenants', message: tenants === undefined ? 'is required' : 'must be an array' });
    return { ok: false, errors };
  }

  const entries = tenants.map((raw: unknown, i) => parseEntry(raw, `tenants[${i}]`, opts, errors));
  checkDuplicateIds(entries, errors);
  checkDuplicateKeys(entries, errors);
  const valid = entries.filter((e): e is ParsedEntry & { tenant: Tenant } => e.tenant !== undefined);
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    entries: valid.map(({ tenant, apiKeys, apiKeyHashes }) => ({ tenant, apiKeys, apiKeyHashes })),
  };
}

/**
 * The parser's message without the text it quotes around an unexpected token (V8: `Unexpected token
 * 's', ..."apiKeys":[sk_live_…"... is not valid JSON`), which may be part of an API key.
 */
function syntaxErrorMessage(err: unknown): string {
  const message = errorMessage(err);
  return /"[\s\S]*"(\.\.\.)? is not valid JSON$/.test(message) ? 'unexpected token (the text around it is not repeated here)' : message;
}

interface ParsedEntry {
  base: string;
  tenant: Tenant | undefined;
  apiKeys: string[];
  apiKeyHashes: string[];
}

function parseEntry(raw: unknown, base: string, opts: ValidatorOptions, errors: ValidationIssue[]): ParsedEntry {
  const entry: ParsedEntry = { base, tenant: undefined, apiKeys: [], apiKeyHashes: [] };
  if (!isObject(raw)) {
    errors.push({ path: base, message: 'must be an object' });
    return entry;
  }
  // The key lists sit beside the tenant fields; everything else is the tenant itself.
  // fromEntries defines own properties, so even a `__proto__` member reaches the validator as unknown.
  const tenantInput = Object.fromEntries(Object.entries(raw).filter(([key]) => !KEY_FIELDS.includes(key)));
  const result = validateTenant(tenantInput, opts);
  if (result.ok) entry.tenant = result.tenant;
  else errors.push(...result.errors.map((e) => ({ path: prefixPath(base, e.path), message: e.message })));

  entry.apiKeys = checkList(raw, 'apiKeys', base, errors, {
    message: 'must be a string of 16 to 512 printable ASCII characters without spaces',
    normalise: (key) => (API_KEY_PATTERN.test(key) ? key : undefined),
  });
  entry.apiKeyHashes = checkList(raw, 'apiKeyHashes', base, errors, {
    message: 'must be a SHA-256 hash written as 64 hexadecimal characters',
    normalise: (hash) => (HASH_PATTERN.test(hash) ? hash.toLowerCase() : undefined),
  });
  return entry;
}

/** An optional array of strings, each normalised or refused with `message` (never echoing the item). */
function checkList(
  raw: Record<string, unknown>,
  field: 'apiKeys' | 'apiKeyHashes',
  base: string,
  errors: ValidationIssue[],
  item: { message: string; normalise: (value: string) => string | undefined },
): string[] {
  const value = Object.hasOwn(raw, field) ? raw[field] : undefined;
  if (value === undefined) return [];
  const path = `${base}.${field}`;
  if (!Array.isArray(value)) {
    errors.push({ path, message: 'must be an array' });
    return [];
  }
  const out: string[] = [];
  value.forEach((entry: unknown, i) => {
    const normalised = typeof entry === 'string' ? item.normalise(entry) : undefined;
    if (normalised === undefined) errors.push({ path: `${path}[${i}]`, message: item.message });
    else out.push(normalised);
  });
  return out;
}

function checkDuplicateIds(entries: ParsedEntry[], errors: ValidationIssue[]): void {
  const seen = new Map<string, string>();
  for (const { base, tenant } of entries) {
    if (tenant === undefined) continue;
    const first = seen.get(tenant.id);
    if (first !== undefined) errors.push({ path: `${base}.id`, message: `duplicates ${first}.id` });
    else seen.set(tenant.id, base);
  }
}

/** One key for two tenants (or twice) would make key -> tenant ambiguous; compared by hash. */
function checkDuplicateKeys(entries: ParsedEntry[], errors: ValidationIssue[]): void {
  const seen = new Map<string, string>();
  for (const { base, apiKeys, apiKeyHashes } of entries) {
    const hashes = [
      ...apiKeys.map((key, i) => ({ hash: hashApiKey(key), path: `${base}.apiKeys[${i}]` })),
      ...apiKeyHashes.map((hash, i) => ({ hash, path: `${base}.apiKeyHashes[${i}]` })),
    ];
    for (const { hash, path } of hashes) {
      const first = seen.get(hash);
      if (first !== undefined) errors.push({ path, message: `is the same API key as ${first}` });
      else seen.set(hash, path);
    }
  }
}

function prefixPath(base: string, path: string): string {
  return path === '' ? base : `${base}.${path}`;
}

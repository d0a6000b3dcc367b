import { invalidRequest, type ValidationIssue } from '../../errors/gateway-error';
import { isObject } from '../../tenants/tenant.validator';

/** A request to explain (SPEC §6.1): whose, which method, which path after /api, with which headers. */
export interface ExplainRequest {
  /** Exactly one of apiKey / tenantId. */
  apiKey?: string;
  tenantId?: string;
  method: string;
  /** As the client would send it after /api, query string allowed. */
  path: string;
  /** Header names lower-cased. */
  headers: Record<string, string>;
}

const FIELDS = new Set(['apiKey', 'tenantId', 'method', 'path', 'headers']);
/** An HTTP method token (RFC 9110 §9.1); compared upper-cased, as Node's parser hands methods over. */
const METHOD = /^[A-Za-z]{1,32}$/;
/** Node's default limit for the whole request head. */
const MAX_PATH = 16 * 1024;

/** Parses the explain body, reporting every problem at once (400 invalid_request). */
export function parseExplainRequest(body: unknown): ExplainRequest {
  if (!isObject(body)) {
    throw invalidRequest([{ path: '', message: 'must be a JSON object' }]);
  }
    const errors: ValidationIssue[] = [];
  for (const key of Object.keys(body)) {
    if (!FIELDS.has(key)) errors.push({ path: key, message: 'unknown field' });
  }

  const { apiKey, tenantId, method, path, headers } = body;
  if (apiKey === undefined && tenantId === undefined) errors.push({ path: '', message: 'needs "apiKey" or "tenantId"' });
  if (apiKey !== undefined && tenantId !== undefined) errors.push({ path: '', message: 'takes "apiKey" or "tenantId", not both' });
  if (apiKey !== undefined && typeof apiKey !== 'string') errors.push({ path: 'apiKey', message: 'must be a string' });
  if (tenantId !== undefined && (typeof tenantId !== 'string' || tenantId === '')) {
    errors.push({ path: 'tenantId', message: 'must be a non-empty string' });
  }
  if (typeof method !== 'string' || !METHOD.test(method)) errors.push({ path: 'method', message: 'must be an HTTP method such as "GET"' });
  if (typeof path !== 'string' || !path.startsWith('/') || path.length > MAX_PATH) {
    errors.push({ path: 'path', message: `must be a string starting with "/" of at most ${MAX_PATH} characters` });
  }

  const lowered: Record<string, string> = {};
  if (headers !== undefined) {
    if (!isObject(headers)) {
      errors.push({ path: 'headers', message: 'must be an object of header names to string values' });
    } else {
      for (const [name, value] of Object.entries(headers)) {
        if (typeof value !== 'string') errors.push({ path: `headers.${name}`, message: 'must be a string' });
        // As Node's parser does for a real request: surrounding whitespace is not part of the value.
        else lowered[name.toLowerCase()] = value.trim();
      }
    }
  }

  if (errors.length > 0) throw invalidRequest(errors);
  return {
    // The key arrives as a header on the data plane, so it is read as one: trimmed.
    ...(apiKey !== undefined && { apiKey: (apiKey as string).trim() }),
    ...(tenantId !== undefined && { tenantId: tenantId as string }),
    method: (method as string).toUpperCase(),
    path: path as string,
    headers: lowered,
  };
}

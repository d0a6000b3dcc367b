import * as z from 'zod';
import { ALWAYS, isJsonObject, strictObject, typeMessages, validate } from '../../config/schema';
import { invalidRequest } from '../../errors/gateway-error';

/** An HTTP method token (RFC 9110 §9.1); compared upper-cased, as Node's parser hands methods over. */
const METHOD = /^[A-Za-z]{1,32}$/;
/** Node's default limit for the whole request head. */
const MAX_PATH = 16 * 1024;

const METHOD_MESSAGE = 'must be an HTTP method such as "GET"';
const PATH_MESSAGE = `must be a string starting with "/" of at most ${MAX_PATH} characters`;

/** A request to explain (SPEC §6.1): whose, which method, which path after /api, with which headers. */
export const ExplainRequestSchema = strictObject(
  {
    /** Exactly one of apiKey / tenantId. The key arrives as a header on the data plane, so it is read as one: trimmed. */
    apiKey: z
      .string({ error: 'must be a string' })
      .transform((key) => key.trim())
      .optional(),
    tenantId: z.string({ error: 'must be a non-empty string' }).min(1, 'must be a non-empty string').optional(),
    method: z
      .string({ error: METHOD_MESSAGE })
      .regex(METHOD, METHOD_MESSAGE)
      .transform((method) => method.toUpperCase()),
    /** As the client would send it after /api, query string allowed. */
    path: z.string({ error: PATH_MESSAGE }).refine((path) => path.startsWith('/') && path.length <= MAX_PATH, PATH_MESSAGE),
    /** Header names lower-cased; as Node's parser does for a real request, surrounding whitespace is not part of a value. */
    headers: z
      .record(
        z.string(),
        z.string({ error: 'must be a string' }).transform((value) => value.trim()),
        { error: typeMessages('must be an object of header names to string values') },
      )
      .transform((headers) => Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value])))
      .default(() => ({})),
  },
  'must be a JSON object',
).superRefine((request, ctx) => {
  if (!isJsonObject(request)) return;
  if (request.apiKey === undefined && request.tenantId === undefined) {
    ctx.addIssue({ code: 'custom', message: 'needs "apiKey" or "tenantId"' });
  } else if (request.apiKey !== undefined && request.tenantId !== undefined) {
    ctx.addIssue({ code: 'custom', message: 'takes "apiKey" or "tenantId", not both' });
  }
}, ALWAYS);

export type ExplainRequest = z.output<typeof ExplainRequestSchema>;

/** Parses the explain body, reporting every problem at once (400 invalid_request). */
export function parseExplainRequest(body: unknown): ExplainRequest {
  const result = validate(ExplainRequestSchema, body);
  if (!result.ok) throw invalidRequest(result.errors);
  return result.value;
}

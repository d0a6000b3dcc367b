import * as z from 'zod';
import type { ValidationIssue } from '../errors/gateway-error';

/**
 * The shared kit over zod: every schema of the gateway (tenants, keys, explain requests, the
 * environment) reports its problems as `ValidationIssue`s, each with a JSON path (`''` is the root),
 * and lists every problem rather than the first.
 */

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: ValidationIssue[] };

/** What a rule that normalises a value returns: the value, or every problem found in it. */
export type RuleResult<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/**
 * For checks that compare parts of an object (duplicates, "one of these fields"): run them even when
 * a part failed, so those problems are listed beside the others. They read the partial value and must
 * ignore what is not well-formed. zod still skips them after an issue that explicitly aborts anywhere
 * below (z.int() given a fraction, z.custom() without `abort: false`, an array's .max()): schemas
 * using ALWAYS avoid those.
 */
export const ALWAYS = { when: (): boolean => true };

/** Parses `input` with `schema`; every problem is reported with its path. */
export function validate<S extends z.ZodType>(schema: S, input: unknown): Validated<z.output<S>> {
  const result = schema.safeParse(input, { error: defaultMessage });
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, errors: toValidationIssues(result.error.issues) };
}

/** Our `{path, message}` form of zod's issues: one per unknown field, each problem once. */
export function toValidationIssues(issues: readonly z.core.$ZodIssue[], base: readonly PropertyKey[] = []): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      // The strict object's message holds one line per unknown key (see strictObject).
      const lines = issue.message.split('\n');
      issue.keys.forEach((key, i) => out.push({ path: formatPath([...path, key]), message: lines[i] ?? 'unknown field' }));
    } else if (issue.code === 'invalid_union' && matchingBranch(issue.errors) !== undefined) {
      out.push(...toValidationIssues(matchingBranch(issue.errors)!, path));
    } else {
      out.push({ path: formatPath(path), message: issue.message });
    }
  }
  return out.filter((a, i) => out.findIndex((b) => b.path === a.path && b.message === a.message) === i);
}

/**
 * The one branch of a union whose type fitted the input (an array for an array, ...): its problems
 * say more than "matches no branch". Undefined when no branch, or several, fitted.
 */
function matchingBranch(branches: readonly (readonly z.core.$ZodIssue[])[]): readonly z.core.$ZodIssue[] | undefined {
  const fitting = branches.filter((issues) => !issues.every((i) => i.code === 'invalid_type' && i.path.length === 0));
  return fitting.length === 1 ? fitting[0] : undefined;
}

/** `allowedRoutes[0].path`, `idp.jwks.keys[1].kty`; `''` for the root. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/**
 * A JSON object holding only the fields of `shape`: any other field is a problem, named with the
 * known field a typo probably meant, so a misspelt field never silently weakens a policy.
 */
export function strictObject<Shape extends z.core.$ZodLooseShape>(shape: Shape, notAnObject = 'must be an object') {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => unknownFieldMessage(key, known)).join('\n');
      if (issue.code === 'invalid_type') return notAnObject;
      return undefined;
    },
  });
}

export function unknownFieldMessage(key: string, known: readonly string[]): string {
  const suggestion = closestName(key, known);
  return suggestion === undefined ? 'unknown field' : `unknown field (did you mean "${suggestion}"?)`;
}

/** The known name within two edits of `name` (ignoring case), to point out a likely typo. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance, cut short at 3: only "within two edits" matters here. */
export function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * Error messages for a value: `missing` when it is absent (default "is required"), `wrongType` when
 * it has another JSON type. Messages of the value's own checks are left as they are.
 */
export function typeMessages(wrongType: string, missing = 'is required') {
  return (issue: z.core.$ZodRawIssue): string | undefined => {
    if (issue.code !== 'invalid_type') return undefined;
    return issue.input === undefined ? missing : wrongType;
  };
}

/** An integer from `min` to `max`, one message for every way of missing it. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  const message = max === Number.MAX_SAFE_INTEGER ? `must be an integer >= ${min}` : `must be an integer between ${min} and ${max}`;
  const error = (issue: z.core.$ZodRawIssue) => (issue.input === undefined ? 'is required' : message);
  // Not z.int(): a non-integer there aborts the whole parse, skipping every ALWAYS check above it.
  return z
    .number({ error })
    .min(min, { error })
    .max(max, { error })
    .refine((n) => Number.isInteger(n), { error });
}

/** A superRefine body reporting what `rule` finds wrong with the value (nothing: valid). */
export function problems<T>(rule: (value: T) => string | readonly string[] | undefined) {
  return (value: T, ctx: z.core.$RefinementCtx<T>): void => {
    const found = rule(value);
    for (const message of typeof found === 'string' ? [found] : (found ?? [])) ctx.addIssue({ code: 'custom', message });
  };
}

/** A transform body applying a normalising rule: its value, or its problems reported. */
export function normalise<I, O>(rule: (value: I) => RuleResult<O>) {
  return (value: I, ctx: z.core.$RefinementCtx<I>): O => {
    const result = rule(value);
    if (result.ok) return result.value;
    for (const message of result.problems) ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
}

/**
 * A superRefine body for arrays, to run with ALWAYS: an item whose `keyOf` equals an earlier item's
 * is reported at `[index, ...at]`. Items without a key (not well-formed) are left to their own checks.
 */
export function noDuplicates(
  keyOf: (item: unknown) => string | undefined,
  message: (key: string, first: number) => string,
  at: readonly PropertyKey[] = [],
) {
  return (items: unknown, ctx: z.core.$RefinementCtx): void => {
    if (!Array.isArray(items)) return;
    const seen = new Map<string, number>();
    items.forEach((item: unknown, i) => {
      const key = keyOf(item);
      if (key === undefined) return;
      const first = seen.get(key);
      if (first === undefined) seen.set(key, i);
      else ctx.addIssue({ code: 'custom', path: [i, ...at], message: message(key, first) });
    });
  };
}

/** A JSON object (not null, not an array), for rules that read a partial value. */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Default wording for zod's generic problems, in the style of our own messages. */
function defaultMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code !== 'invalid_type') return undefined;
  if (issue.input === undefined) return 'is required';
  const expected: Record<string, string> = {
    string: 'must be a string',
    boolean: 'must be true or false',
    object: 'must be an object',
    array: 'must be an array',
    number: 'must be a number',
    int: 'must be an integer',
  };
  return expected[issue.expected] ?? `must be of type ${issue.expected}`;
}

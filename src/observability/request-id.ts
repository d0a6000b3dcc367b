import { randomUUID } from 'node:crypto';

const VALID_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** SPEC §5.3: keep the client's X-Request-Id when it is 1–128 chars of [A-Za-z0-9._-], else a new UUID. */
export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && VALID_REQUEST_ID.test(header) ? header : randomUUID();
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ALL_ZERO = /^0+$/;

/**
 * The trace id of a valid W3C traceparent (Trace Context §3.2), else undefined: lower-case hex,
 * version not ff, trace id and parent id not all zero. Version 00 has exactly four fields; a later
 * version may append fields after the flags, which are ignored (§3.2.4, forward compatibility).
 */
export function traceIdFrom(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const m = TRACEPARENT.exec(header.trim());
  if (!m || m[1] === 'ff' || ALL_ZERO.test(m[2]) || ALL_ZERO.test(m[3])) return undefined;
  if (m[1] === '00' && m[5] !== undefined) return undefined;
  return m[2];
}

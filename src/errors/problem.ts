import type { ServerResponse } from 'node:http';
import { ERROR_TABLE } from './error-table';
import type { GatewayError } from './gateway-error';

/** RFC 9457 problem document of a GatewayError (SPEC §5.4). */
export function problemBody(error: GatewayError, requestId: string): string {
  return JSON.stringify({
    type: 'about:blank',
    title: ERROR_TABLE[error.code].title,
    status: error.status,
    detail: error.detail,
    code: error.code,
    requestId,
    ...error.extra,
  });
}

/** Writes the problem response on a raw Node response; usable below Nest (proxy callbacks). */
export function sendProblem(res: ServerResponse, error: GatewayError, requestId: string): void {
  const body = problemBody(error, requestId);
  res.statusCode = error.status;
  res.setHeader('Content-Type', 'application/problem+json');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('X-Request-Id', requestId);
  res.setHeader('Cache-Control', 'no-store');
  if (error.headers) for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  // An unread request body would otherwise be drained first; a 413 closes the connection instead.
  if (error.status === 413) res.setHeader('Connection', 'close');
  res.end(body);
}

/**
 * The whole HTTP/1.1 response of a problem, for a connection that has no response object (a request
 * Node's parser could not read); the connection closes after it.
 */
export function rawProblemResponse(error: GatewayError, requestId: string): string {
  const body = problemBody(error, requestId);
  return (
    `HTTP/1.1 ${error.status} ${ERROR_TABLE[error.code].title}\r\n` +
    'Content-Type: application/problem+json\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    `X-Request-Id: ${requestId}\r\n` +
    'Cache-Control: no-store\r\n' +
    'Connection: close\r\n\r\n' +
    body
  );
}

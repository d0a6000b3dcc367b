import type { IncomingMessage, ServerResponse } from 'node:http';
import { adminBodyTooLarge, GatewayError, malformedJson, unsupportedMediaType } from '../errors/gateway-error';
import { sendProblem } from '../errors/problem';
import { contextOf } from '../observability/request-context';

export const ADMIN_BODY_LIMIT = 1024 * 1024;

/**
 * Control-plane bodies: JSON only, 1 MiB at most (SPEC §6), parsed into `req.body`. The data plane
 * never goes through this: /api bodies are streamed, not parsed. It runs after the admin gate, so
 * nothing is buffered or parsed for a caller without the admin token.
 */
export function jsonBodyMiddleware(limit = ADMIN_BODY_LIMIT) {
  return (req: IncomingMessage & { body?: unknown }, res: ServerResponse, next: () => void): void => {
    const length = req.headers['content-length'];
    const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    if (!hasBody) {
      next();
      return;
    }
    const fail = (error: GatewayError) => {
      const ctx = contextOf(req);
      ctx.errorCode = error.code;
      sendProblem(res, error, ctx.requestId);
    };
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json' && !/^application\/[a-z0-9.+-]*\+json$/.test(type)) {
      fail(unsupportedMediaType());
      return;
    }
    if (length !== undefined && Number(length) > limit) {
      fail(adminBodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        fail(adminBodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        req.body = JSON.parse(text);
      } catch (err) {
        fail(malformedJson(`The body is not valid JSON: ${(err as Error).message}`));
        return;
      }
      next();
    });
    req.on('error', () => {
      done = true;
    });
  };
}

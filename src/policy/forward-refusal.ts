import { badPath, payloadTooLarge, type GatewayError } from '../errors/gateway-error';
import { declaresTooLarge } from './body-limit';
import { forwardsUnchanged } from './upstream-url';

/**
 * The proxy step's own refusals, in its order (SPEC §5.4): a declared body over `limit` (413), then
 * a path that would not reach the upstream unchanged (400 bad_path). The proxy and explain both ask
 * here, so they cannot disagree. A body that grows past the limit while streaming is the proxy's alone.
 */
export function forwardRefusal(limit: number, contentLength: string | undefined, forwardPath: string): GatewayError | null {
  if (declaresTooLarge(contentLength, limit)) return payloadTooLarge(limit);
  if (!forwardsUnchanged(forwardPath)) return badPath('The path contains a sequence that cannot be forwarded unchanged.');
  return null;
}

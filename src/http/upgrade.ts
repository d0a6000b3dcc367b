import type { IncomingMessage } from 'node:http';

/**
 * An HTTP/1.1 upgrade reaches the gateway through the server's `upgrade` event with the bytes that
 * followed its head; the request gate keeps them on the request for whoever proxies it.
 */
const UPGRADE_HEAD = Symbol('upgradeHead');
type UpgradeRequest = IncomingMessage & { [UPGRADE_HEAD]?: Buffer };

export function setUpgradeHead(req: IncomingMessage, head: Buffer): void {
  (req as UpgradeRequest)[UPGRADE_HEAD] = head;
}

/** The bytes after the head of an upgrade request, or undefined for a request that came as a plain one. */
export function upgradeHeadOf(req: IncomingMessage): Buffer | undefined {
  return (req as UpgradeRequest)[UPGRADE_HEAD];
}

/** SPEC §15: a GET asking for `Upgrade: websocket` that arrived through the `upgrade` event. */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  return req.method === 'GET' && upgradeHeadOf(req) !== undefined && typeof upgrade === 'string' && upgrade.trim().toLowerCase() === 'websocket';
}

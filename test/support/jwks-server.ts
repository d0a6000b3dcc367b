import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

/** A signing key made with jose: the private half signs test tokens, the public JWK is published. */
export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The public JWK with kid, alg and use, as an IdP publishes it. */
  jwk: JWK;
}

export async function makeKey(alg: 'RS256' | 'ES256' | 'PS256' | 'ES384' | 'EdDSA', kid = `${alg.toLowerCase()}-${randomBytes(4).toString('hex')}`): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, jwk };
}

export interface TokenOptions {
  /** Defaults to the key's kid; `null` leaves kid out. */
  kid?: string | null;
  /** Extra protected-header members (jku, jwk, x5u, ...). */
  header?: Record<string, unknown>;
  /** Seconds from now; default 300. `null` leaves exp out. */
  expiresIn?: number | null;
}

/** A compact JWS signed with `key`; `claims` are used as given (iss, aud, sub, nbf, ...). */
export async function signToken(key: SigningKey, claims: JWTPayload, opts: TokenOptions = {}): Promise<string> {
  const kid = opts.kid === undefined ? key.kid : opts.kid;
  const header = { alg: key.alg, ...(kid !== null && { kid }), ...opts.header };
  const now = Math.floor(Date.now() / 1000);
  const expiresIn = opts.expiresIn === undefined ? 300 : opts.expiresIn;
  return new SignJWT({ iat: now, ...(expiresIn !== null && { exp: now + expiresIn }), ...claims }).setProtectedHeader(header).sign(key.privateKey);
}

/** How the server answers: the key set, an error status, or nothing at all (the connection hangs). */
export type JwksMode = 'serve' | 'error' | 'hang';

export interface JwksServer {
  /** The JWK Set's URL (http://127.0.0.1:<port>/.well-known/jwks.json). */
  jwksUri: string;
  port: number;
  /** Requests received since start (every path counts). */
  readonly hits: number;
  /** Replaces the published keys (rotation). */
  publish(keys: SigningKey[]): void;
  mode: JwksMode;
  /** Status answered in `error` mode (default 503). */
  errorStatus: number;
  /** Location header sent in `error` mode, for redirect statuses. */
  redirectTo: string | undefined;
  /** Delay before each answer, in ms. */
  delayMs: number;
  /** Stops listening (connections are then refused) and drops open connections; `start` listens again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** A real identity provider's JWKS endpoint on 127.0.0.1 and a free port, serving `keys`. */
export async function startJwksServer(keys: SigningKey[] = []): Promise<JwksServer> {
  let published = keys;
  let hits = 0;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const server = http.createServer((req, res) => {
    hits++;
    if (state.mode === 'hang') return;
    const answer = (): void => {
      if (state.mode === 'error') {
        res.writeHead(state.errorStatus, { 'content-type': 'text/plain', ...(state.redirectTo !== undefined && { location: state.redirectTo }) });
        res.end('unavailable');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
      res.end(JSON.stringify({ keys: published.map((k) => k.jwk) }));
    };
    if (state.delayMs === 0) return answer();
    const timer = setTimeout(() => {
      timers.delete(timer);
      answer();
    }, state.delayMs);
    timers.add(timer);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });

  await listen(0);
  const port = (server.address() as AddressInfo).port;
  const state: JwksServer = {
    jwksUri: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    port,
    get hits() {
      return hits;
    },
    publish(next) {
      published = next;
    },
    mode: 'serve',
    errorStatus: 503,
    redirectTo: undefined,
    delayMs: 0,
    stop,
    start: () => listen(port),
    close: stop,
  };
  return state;
}

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

/** The demo's two neighbours of the gateway, on 127.0.0.1 and ports the OS picks. */

export interface DemoServer {
  url: string;
  close(): Promise<void>;
}

function listen(server: Server): Promise<DemoServer> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

/** An upstream that answers every request with what it received from the gateway. */
export function startDemoUpstream(): Promise<DemoServer> {
  return listen(
    createServer((req, res) => {
      req.resume();
      const body = JSON.stringify({
        upstream: 'demo',
        method: req.method,
        path: req.url,
        tenantId: req.headers['x-tenant-id'] ?? null,
        authSubject: req.headers['x-auth-subject'] ?? null,
        requestId: req.headers['x-request-id'] ?? null,
      });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(body + '\n');
    }),
  );
}

export const DEMO_AUDIENCE = 'demo-api';

/**
 * An identity provider reduced to its two endpoints that matter here: its public keys
 * (`/.well-known/jwks.json`) and `/token`, which hands out a fresh RS256 token for `demo-user`.
 */
export async function startDemoIdp(): Promise<DemoServer & { issuer: string; jwksUri: string }> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const kid = 'demo-key-1';
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] });
  let issuer = '';
  const server = await listen(
    createServer((req, res) => {
      req.resume();
      if (req.url === '/.well-known/jwks.json') {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(jwks);
      } else if (req.url === '/token') {
        new SignJWT({ scope: 'demo' })
          .setProtectedHeader({ alg: 'RS256', kid })
          .setIssuer(issuer)
          .setAudience(DEMO_AUDIENCE)
          .setSubject('demo-user')
          .setIssuedAt()
          .setExpirationTime('1h')
          .sign(privateKey)
          .then(
            (token) => res.writeHead(200, { 'Content-Type': 'text/plain' }).end(token),
            () => res.writeHead(500).end(),
          );
      } else {
        res.writeHead(404).end();
      }
    }),
  );
  issuer = server.url;
  return { ...server, issuer, jwksUri: `${server.url}/.well-known/jwks.json` };
}

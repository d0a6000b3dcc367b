import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { announceReady, exitWithParent } from './child-ipc';

/** `node jwks-server.js <file>`: the identity provider's JWKS endpoint, serving the JWK Set in <file>. */
const jwks = readFileSync(process.argv[2]);

const server = http.createServer((req, res) => {
  req.resume();
  if (req.method === 'GET' && req.url === '/.well-known/jwks.json') {
    res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'content-length': jwks.length });
    res.end(jwks);
    return;
  }
  res.writeHead(404, { 'content-length': 0 });
  res.end();
});

exitWithParent();
server.listen(0, '127.0.0.1', () => announceReady((server.address() as AddressInfo).port));

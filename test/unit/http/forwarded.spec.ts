import type { IncomingMessage } from 'node:http';
import express from 'express';
import { clientHost, clientIp, clientProtocol, compileTrustProxy } from '../../../src/http/forwarded';

interface Case {
  remote: string;
  encrypted?: boolean;
  headers: Record<string, string>;
}

const CASES: Case[] = [
  { remote: '127.0.0.1', headers: { host: 'gw.example:3000' } },
  { remote: '127.0.0.1', headers: { host: 'gw.example', 'x-forwarded-for': '203.0.113.9' } },
  { remote: '127.0.0.1', headers: { host: 'gw.example', 'x-forwarded-for': '198.51.100.1, 10.1.2.3, 203.0.113.9' } },
  { remote: '10.0.0.7', headers: { host: 'gw.example', 'x-forwarded-for': '198.51.100.1,10.0.0.8' } },
  { remote: '203.0.113.50', headers: { host: 'gw.example', 'x-forwarded-for': '198.51.100.1' } },
  { remote: '::ffff:127.0.0.1', headers: { host: 'gw.example', 'x-forwarded-for': '2001:db8::1' } },
  { remote: '::1', headers: { host: '[::1]:3000', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'public.example' } },
  { remote: '127.0.0.1', headers: { host: 'gw.example', 'x-forwarded-proto': 'https, http', 'x-forwarded-host': 'a.example , b.example' } },
  { remote: '127.0.0.1', headers: { host: 'gw.example', 'x-forwarded-proto': ' HTTPS ' } },
  { remote: '203.0.113.50', headers: { host: 'gw.example', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' } },
  { remote: '127.0.0.1', encrypted: true, headers: { host: 'gw.example' } },
  { remote: '127.0.0.1', headers: {} },
  { remote: '127.0.0.1', headers: { 'x-forwarded-host': '' } },
];

const TRUST_VALUES: (boolean | number | string)[] = [false, true, 0, 1, 2, 'loopback', '10.0.0.0/8, 127.0.0.1', 'loopback,uniquelocal'];

function nodeRequest(c: Case): IncomingMessage {
  return { headers: { ...c.headers }, socket: { remoteAddress: c.remote, encrypted: c.encrypted } } as unknown as IncomingMessage;
}

/** Express's own request for the same message, under the same "trust proxy" value. */
function expressRequest(c: Case, trust: boolean | number | string): express.Request {
  const app = express();
  app.set('trust proxy', trust);
  const req = Object.create(app.request) as express.Request & { headers: unknown; socket: unknown };
  Object.assign(req, nodeRequest(c));
  return req;
}

describe('client address, protocol and host without Express', () => {
  describe.each(TRUST_VALUES)('with trust proxy %p', (value) => {
    const trust = compileTrustProxy(value);
    it.each(CASES.map((c) => [JSON.stringify(c), c] as const))('match Express 5 for %s', (_name, c) => {
      const viaExpress = expressRequest(c, value);
      const req = nodeRequest(c);
      expect(clientIp(req, trust)).toBe(viaExpress.ip);
      expect(clientProtocol(req, trust)).toBe(viaExpress.protocol);
      expect(clientHost(req, trust)).toBe(viaExpress.host);
    });
  });

  it('trusts X-Forwarded-* only from a trusted peer', () => {
    const req = nodeRequest({
      remote: '203.0.113.50',
      headers: { host: 'gw.example', 'x-forwarded-for': '198.51.100.1', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' },
    });
    const trust = compileTrustProxy('loopback');
    expect([clientIp(req, trust), clientProtocol(req, trust), clientHost(req, trust)]).toEqual(['203.0.113.50', 'http', 'gw.example']);
  });

  it('counts hops: 1 trusts the peer only', () => {
    const req = nodeRequest({ remote: '127.0.0.1', headers: { 'x-forwarded-for': '198.51.100.1, 10.1.2.3' } });
    expect(clientIp(req, compileTrustProxy(1))).toBe('10.1.2.3');
    expect(clientIp(req, compileTrustProxy(2))).toBe('198.51.100.1');
  });

  it('has no address for a socket that is already gone', () => {
    const req = { headers: {}, socket: {} } as unknown as IncomingMessage;
    expect(clientIp(req, compileTrustProxy(true))).toBeUndefined();
  });
});

import type { IncomingHttpHeaders } from 'node:http';
import {
  applyClientHeaderRules,
  applyUpstreamHeaderRules,
  stripResponseHopByHop,
  type ForwardedFor,
} from '../../../../src/data-plane/proxy/header-rules';

const FWD: ForwardedFor = {
  tenantId: 'acme',
  requestId: 'req-123',
  clientIp: '203.0.113.7',
  proto: 'https',
  host: 'gateway.example.com',
  trustedPeer: false,
  allowUnderscores: false,
};

/** Applies the rules to a copy of `headers` and returns the result with the returned Connection value. */
function upstream(headers: IncomingHttpHeaders, fwd: Partial<ForwardedFor> = {}) {
  const copy: IncomingHttpHeaders = { ...headers };
  const connection = applyUpstreamHeaderRules(copy, { ...FWD, ...fwd });
  return { headers: copy, connection };
}

describe('applyUpstreamHeaderRules', () => {
  describe('adds', () => {
    it('X-Tenant-Id, X-Request-Id, X-Forwarded-For, X-Forwarded-Proto and X-Forwarded-Host', () => {
      const { headers } = upstream({ accept: 'application/json' });
      expect(headers).toEqual({
        accept: 'application/json',
        'x-tenant-id': 'acme',
        'x-request-id': 'req-123',
        'x-forwarded-for': '203.0.113.7',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'gateway.example.com',
      });
    });

    it('replaces a client X-Request-Id with the one given', () => {
      expect(upstream({ 'x-request-id': 'client-id' }).headers['x-request-id']).toBe('req-123');
    });

    it('X-Auth-Subject only after a verified JWT', () => {
      expect(upstream({}).headers).not.toHaveProperty('x-auth-subject');
      expect(upstream({}, { authSubject: 'user-42' }).headers['x-auth-subject']).toBe('user-42');
    });

    it('no X-Forwarded-For or X-Forwarded-Host when the client address or host is unknown', () => {
      const { headers } = upstream({}, { clientIp: undefined, host: undefined });
      expect(headers).not.toHaveProperty('x-forwarded-for');
      expect(headers).not.toHaveProperty('x-forwarded-host');
      expect(headers['x-forwarded-proto']).toBe('https');
    });
  });

  describe('X-Forwarded-For', () => {
    it('appends the client address to the one the client sent', () => {
      expect(upstream({ 'x-forwarded-for': '198.51.100.1' }).headers['x-forwarded-for']).toBe('198.51.100.1, 203.0.113.7');
    });

    it('appends to a list already joined from several lines', () => {
      expect(upstream({ 'x-forwarded-for': '198.51.100.1, 198.51.100.2' }).headers['x-forwarded-for']).toBe(
        '198.51.100.1, 198.51.100.2, 203.0.113.7',
      );
    });

    it('is the client address alone when the client sent an empty one', () => {
      expect(upstream({ 'x-forwarded-for': '' }).headers['x-forwarded-for']).toBe('203.0.113.7');
    });

    it('leaves a client value alone when the client address is unknown', () => {
      expect(upstream({ 'x-forwarded-for': '198.51.100.1' }, { clientIp: undefined }).headers['x-forwarded-for']).toBe(
        '198.51.100.1',
      );
    });
  });

  describe('removes', () => {
    it('the gateway credentials X-API-Key and X-Admin-Token', () => {
      const { headers } = upstream({ 'x-api-key': 'secret-key', 'x-admin-token': 'secret-token' });
      expect(headers).not.toHaveProperty('x-api-key');
      expect(headers).not.toHaveProperty('x-admin-token');
    });

    it('a client-sent X-Tenant-Id, replaced by the resolved tenant', () => {
      expect(upstream({ 'x-tenant-id': 'victim' }).headers['x-tenant-id']).toBe('acme');
    });

    it('every client-sent X-Auth-* header', () => {
      const { headers } = upstream({ 'x-auth-subject': 'admin', 'x-auth-roles': 'root', 'x-authz': 'kept' });
      expect(headers).not.toHaveProperty('x-auth-subject');
      expect(headers).not.toHaveProperty('x-auth-roles');
      expect(headers['x-authz']).toBe('kept');
    });

    it('a client-sent X-Auth-Subject, replaced by the verified subject', () => {
      expect(upstream({ 'x-auth-subject': 'admin' }, { authSubject: 'user-42' }).headers['x-auth-subject']).toBe('user-42');
    });

    it.each(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'upgrade'])(
      'the hop-by-hop header %s',
      (name) => {
        expect(upstream({ [name]: 'x', accept: '*/*' }).headers).not.toHaveProperty(name);
      },
    );

    it('Expect, which the gateway itself answers', () => {
      expect(upstream({ expect: '100-continue' }).headers).not.toHaveProperty('expect');
    });

    it('headers the client names in Connection, whatever their case and spacing', () => {
      const { headers } = upstream({
        connection: 'keep-alive, X-Custom-Hop ,x-other-hop',
        'x-custom-hop': '1',
        'x-other-hop': '2',
        'x-end-to-end': '3',
      });
      expect(headers).not.toHaveProperty('x-custom-hop');
      expect(headers).not.toHaveProperty('x-other-hop');
      expect(headers['x-end-to-end']).toBe('3');
    });
  });

  describe('keeps', () => {
    it('Authorization, traceparent and tracestate unchanged', () => {
      const client = {
        authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig',
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        tracestate: 'vendor=opaque',
      };
      expect(upstream(client).headers).toMatchObject(client);
    });

    it('Transfer-Encoding, which frames a streamed body, even when Connection names it', () => {
      const { headers } = upstream({ 'transfer-encoding': 'chunked', connection: 'transfer-encoding' });
      expect(headers['transfer-encoding']).toBe('chunked');
      expect(headers).not.toHaveProperty('connection');
    });

    it('Content-Length and Host even when Connection names them (a dropped length would smuggle the body as a request)', () => {
      const { headers } = upstream({
        'content-length': '36',
        host: 'gateway.example.com',
        connection: 'keep-alive, Content-Length, host',
      });
      expect(headers['content-length']).toBe('36');
      expect(headers.host).toBe('gateway.example.com');
    });

    it('ordinary end-to-end headers', () => {
      const client = { accept: 'text/plain', 'content-type': 'application/json', 'content-length': '12', cookie: 'a=b' };
      expect(upstream(client).headers).toMatchObject(client);
    });
  });

  it('changes the headers object it is given, in place', () => {
    const headers: IncomingHttpHeaders = { 'x-api-key': 'secret' };
    applyUpstreamHeaderRules(headers, FWD);
    expect(headers).not.toHaveProperty('x-api-key');
    expect(headers['x-tenant-id']).toBe('acme');
  });

  it("returns the client's Connection value, so the caller can restore it", () => {
    expect(upstream({ connection: 'keep-alive, x-custom-hop' }).connection).toBe('keep-alive, x-custom-hop');
    expect(upstream({ connection: 'close' }).connection).toBe('close');
    expect(upstream({}).connection).toBeUndefined();
  });
});

describe('applyUpstreamHeaderRules and what the upstream might read differently (SPEC §18)', () => {
  it.each(['X_Auth_Subject', 'x_tenant_id', 'X_Forwarded_For', 'Transfer_Encoding', 'my_header', 'a_'])(
    'drops %s: a name with "_" is not forwarded by default',
    (name) => {
      const { headers } = upstream({ [name.toLowerCase()]: 'admin', accept: '*/*' });
      expect(headers).not.toHaveProperty(name.toLowerCase());
      expect(headers.accept).toBe('*/*');
    },
  );

  it('with ALLOW_UNDERSCORE_HEADERS forwards a name with "_" that reads as no header the gateway sets or strips', () => {
    const { headers } = upstream({ my_header: 'kept', 'x_custom_id': '7' }, { allowUnderscores: true });
    expect(headers).toMatchObject({ my_header: 'kept', x_custom_id: '7' });
  });

  it.each([
    'x_auth_subject', 'x_auth_roles', 'x_tenant_id', 'x_request_id', 'x_forwarded_for', 'x_forwarded_proto',
    'x_forwarded_host', 'x_forwarded_prefix', 'x_api_key', 'x_admin_token', 'transfer_encoding', 'content_length',
    'proxy_authorization', 'keep_alive', 'x_http_method_override', 'x_original_url', 'x_real_ip', 'true_client_ip',
    'x_client_ip', 'x-auth_subject', 'x_forwarded-for',
  ])('even with ALLOW_UNDERSCORE_HEADERS drops %s, which reads as a header the gateway sets or strips', (name) => {
    expect(upstream({ [name]: 'spoofed' }, { allowUnderscores: true, trustedPeer: true }).headers).not.toHaveProperty(name);
  });

  it('even with ALLOW_UNDERSCORE_HEADERS drops a "_" spelling of a header the client named in Connection', () => {
    const { headers } = upstream({ connection: 'x-hop', 'x-hop': '1', x_hop: '2', 'x_other': '3' }, { allowUnderscores: true });
    expect(headers).not.toHaveProperty('x-hop');
    expect(headers).not.toHaveProperty('x_hop');
    expect(headers.x_other).toBe('3');
  });

  it('drops a "-" spelling of a header the client named in Connection with "_"', () => {
    const { headers } = upstream({ connection: 'X_Hop', x_hop: '1', 'x-hop': '2' });
    expect(headers).not.toHaveProperty('x_hop');
    expect(headers).not.toHaveProperty('x-hop');
  });

  it.each(['x-http-method-override', 'x-http-method', 'x-method-override', 'x-original-url', 'x-rewrite-url', 'x-original-method'])(
    'never forwards the override header %s, from any peer',
    (name) => {
      expect(upstream({ [name]: 'DELETE' }).headers).not.toHaveProperty(name);
      expect(upstream({ [name]: 'DELETE' }, { trustedPeer: true }).headers).not.toHaveProperty(name);
    },
  );

  const proxyHeaders = {
    forwarded: 'for=10.0.0.1;host=evil.example;proto=https',
    'x-real-ip': '10.0.0.1',
    'true-client-ip': '10.0.0.1',
    'x-client-ip': '10.0.0.1',
    'x-forwarded-port': '443',
    'x-forwarded-prefix': '/admin',
    'x-forwarded-server': 'evil',
  };

  it('from a peer outside TRUST_PROXY drops Forwarded, X-Real-IP, True-Client-IP, X-Client-IP and X-Forwarded-* but -For', () => {
    const { headers } = upstream({ ...proxyHeaders, 'x-forwarded-for': '198.51.100.1', 'x-forwarded-host': 'evil.example' }, { host: undefined });
    for (const name of Object.keys(proxyHeaders)) expect(headers).not.toHaveProperty(name);
    expect(headers).not.toHaveProperty('x-forwarded-host');
    expect(headers['x-forwarded-for']).toBe('198.51.100.1, 203.0.113.7');
    expect(headers['x-forwarded-proto']).toBe('https');
  });

  it('from a TRUST_PROXY peer keeps them as the proxy sent them', () => {
    expect(upstream(proxyHeaders, { trustedPeer: true }).headers).toMatchObject(proxyHeaders);
  });
});

describe('stripResponseHopByHop', () => {
  function stripped(headers: IncomingHttpHeaders): IncomingHttpHeaders {
    const copy = { ...headers };
    stripResponseHopByHop(copy);
    return copy;
  }

  it.each(['keep-alive', 'proxy-connection', 'trailer', 'upgrade'])('removes %s', (name) => {
    expect(stripped({ [name]: 'x', 'content-type': 'text/plain' })).toEqual({ 'content-type': 'text/plain' });
  });

  it('removes headers the upstream names in Connection', () => {
    const result = stripped({ connection: 'X-Upstream-Hop, x-other-hop', 'x-upstream-hop': '1', 'x-other-hop': '2', etag: '"v1"' });
    expect(result).not.toHaveProperty('x-upstream-hop');
    expect(result).not.toHaveProperty('x-other-hop');
    expect(result.etag).toBe('"v1"');
  });

  it("keeps Transfer-Encoding but drops Connection itself: the client connection follows the client's Connection", () => {
    // An upstream's "Connection: keep-alive" copied to the client would override a client's "close" (RFC 9112 §9.6).
    const result = stripped({ connection: 'close, transfer-encoding', 'transfer-encoding': 'chunked' });
    expect(result['transfer-encoding']).toBe('chunked');
    expect(result).not.toHaveProperty('connection');
  });

  it('keeps end-to-end headers untouched', () => {
    const upstreamHeaders = {
      'content-type': 'application/json',
      'content-length': '2',
      'set-cookie': ['a=1', 'b=2'],
      'cache-control': 'max-age=60',
      'www-authenticate': 'Bearer realm="upstream"',
    };
    expect(stripped(upstreamHeaders)).toEqual(upstreamHeaders);
  });
});

describe('applyClientHeaderRules', () => {
  function applied(headers: IncomingHttpHeaders, corsConfigured: boolean): IncomingHttpHeaders {
    const copy = { ...headers };
    applyClientHeaderRules(copy, corsConfigured);
    return copy;
  }

  it("drops the upstream's X-Request-Id so the gateway's stays", () => {
    expect(applied({ 'x-request-id': 'upstream', etag: '"v1"' }, false)).toEqual({ etag: '"v1"' });
  });

  it("drops the upstream's RateLimit-* headers so the gateway's stay, and keeps its Retry-After", () => {
    const headers = { 'ratelimit-limit': '10', 'ratelimit-remaining': '9', 'ratelimit-reset': '1', 'retry-after': '5' };
    expect(applied(headers, false)).toEqual({ 'retry-after': '5' });
  });

  it('without CORS configured, Access-Control-* and Vary pass unchanged', () => {
    const headers = { 'access-control-allow-origin': '*', vary: 'Accept-Encoding' };
    expect(applied(headers, false)).toEqual(headers);
  });

  it("with CORS configured, drops the upstream's Access-Control-* headers", () => {
    const result = applied(
      { 'access-control-allow-origin': '*', 'access-control-allow-credentials': 'true', 'content-type': 'text/plain' },
      true,
    );
    expect(result).toEqual({ 'content-type': 'text/plain' });
  });

  it.each([
    ['Accept-Encoding', 'Accept-Encoding, Origin'],
    ['Accept-Encoding, Accept-Language', 'Accept-Encoding, Accept-Language, Origin'],
    ['accept-encoding,origin', 'accept-encoding,origin'],
    ['Origin', 'Origin'],
    ['*', '*'],
    ['X-Origin-Hint', 'X-Origin-Hint, Origin'],
  ])('with CORS configured, Vary %s becomes %s', (vary, expected) => {
    expect(applied({ vary }, true).vary).toBe(expected);
  });

  it('with CORS configured and no upstream Vary, adds none (the CORS middleware set Vary: Origin already)', () => {
    expect(applied({ 'content-type': 'text/plain' }, true)).toEqual({ 'content-type': 'text/plain' });
  });
});

import type { IncomingHttpHeaders } from 'node:http';
import * as fc from 'fast-check';
import { applyUpstreamHeaderRules, type ForwardedFor } from '../../../../src/data-plane/proxy/header-rules';

/*
 * SPEC §18, property (b): no header name the gateway forwards, read with "_" as "-" (as CGI, PHP and
 * WSGI read it), names a header the gateway sets or strips, unless it is the gateway's own header
 * under its own name. The lists below are the SPEC's (§5.3, §18), written apart from header-rules.ts.
 */

/** Set by the gateway (§5.3): forwarded only under these exact names, with the gateway's values. */
const SET = ['x-tenant-id', 'x-request-id', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-auth-subject'];
/** The body's framing and Host, which the gateway and Node own: forwarded only under these exact names. */
const FRAMING = ['content-length', 'transfer-encoding', 'host'];
/** Stripped from every request (§5.3 credentials and hop-by-hop, §18 overrides). */
const STRIPPED = [
  'x-api-key', 'x-admin-token', 'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer',
  'upgrade', 'expect', 'x-http-method-override', 'x-http-method', 'x-method-override', 'x-original-url', 'x-rewrite-url',
  'x-original-method',
];
/** Stripped from a peer outside TRUST_PROXY (§18), besides every X-Forwarded-* but -For. */
const FROM_PROXIES = ['forwarded', 'x-real-ip', 'true-client-ip', 'x-client-ip', 'x-forwarded-port', 'x-forwarded-prefix'];

const KNOWN = [...SET, ...FRAMING, ...STRIPPED, ...FROM_PROXIES, 'x-auth-roles', 'authorization', 'accept', 'x-custom'];

/** A known name spelled with any mix of "-" and "_", or a token of letters, digits, "-" and "_". */
const nameArb = fc.oneof(
  fc.constantFrom(...KNOWN).chain((name) =>
    fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length }).map((flips) =>
      [...name].map((ch, i) => (ch === '-' && flips[i] ? '_' : ch)).join(''),
    ),
  ),
  fc.stringMatching(/^[a-z][a-z0-9_-]{0,10}$/),
);

const caseArb = fc.record({
  headers: fc.dictionary(nameArb, fc.string({ maxLength: 12 }), { maxKeys: 12 }),
  connection: fc.option(fc.array(nameArb, { maxLength: 3 }).map((names) => names.join(', ')), { nil: undefined }),
  fwd: fc.record({
    clientIp: fc.option(fc.constant('203.0.113.7'), { nil: undefined }),
    host: fc.option(fc.constant('gateway.example'), { nil: undefined }),
    authSubject: fc.option(fc.constant('user-42'), { nil: undefined }),
    trustedPeer: fc.boolean(),
    allowUnderscores: fc.boolean(),
  }),
});

const dashed = (name: string) => name.replaceAll('_', '-');

describe('upstream header names, read with "_" as "-" (SPEC §18)', () => {
  it('never name a header the gateway sets or strips, but for its own', () => {
    let underscoresForwarded = 0;
    fc.assert(
      fc.property(caseArb, ({ headers, connection, fwd: partial }) => {
        const input: IncomingHttpHeaders = { ...headers };
        if (connection !== undefined) input.connection = connection;
        const fwd: ForwardedFor = { tenantId: 'acme', requestId: 'req-1', proto: 'https', ...partial };
        const sent: IncomingHttpHeaders = { ...input };
        applyUpstreamHeaderRules(sent, fwd);

        const named = (connection ?? '').split(',').map((n) => dashed(n.trim())).filter((n) => n !== '' && !FRAMING.includes(n));
        const wrong: string[] = [];
        for (const name of Object.keys(sent)) {
          const reads = dashed(name);
          if (name.includes('_')) {
            underscoresForwarded++;
            // Only on request, and never as a header the gateway sets, strips or owns.
            if (!fwd.allowUnderscores) wrong.push(`${name}: has "_" without ALLOW_UNDERSCORE_HEADERS`);
            if ([...SET, ...FRAMING].includes(reads)) wrong.push(`${name}: reads as ${reads}, which the gateway sets`);
          }
          // The gateway's own headers, under their own names: their values are checked below.
          if (SET.includes(name)) continue;
          if (STRIPPED.includes(reads) || named.includes(reads)) wrong.push(`${name}: reads as ${reads}, which is stripped`);
          if (reads.startsWith('x-auth-')) wrong.push(`${name}: reads as a client X-Auth-* header`);
          if (!fwd.trustedPeer && (FROM_PROXIES.includes(reads) || reads.startsWith('x-forwarded-'))) {
            wrong.push(`${name}: reads as ${reads}, from a peer outside TRUST_PROXY`);
          }
        }
        if (wrong.length > 0) expect({ headers: input, fwd, wrong }).toEqual({ headers: input, fwd, wrong: [] });
        // The gateway's own headers carry the gateway's values.
        expect(sent['x-tenant-id']).toBe('acme');
        expect(sent['x-request-id']).toBe('req-1');
        expect(sent['x-forwarded-proto']).toBe('https');
        expect(sent['x-auth-subject']).toBe(fwd.authSubject);
        if (fwd.host !== undefined) expect(sent['x-forwarded-host']).toBe('gateway.example');
        if (fwd.clientIp !== undefined) expect(String(sent['x-forwarded-for'])).toMatch(/(^|, )203\.0\.113\.7$/);
      }),
      { numRuns: 2000 },
    );
    // The property is not vacuous: names with "_" do get through when allowed.
    expect(underscoresForwarded).toBeGreaterThan(50);
  });
});

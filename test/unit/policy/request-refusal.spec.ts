import { requestRefusal } from '../../../src/policy/request-refusal';

/** SPEC §18: what the edge refuses before anything else reads the request. */
describe('requestRefusal', () => {
  const host = (value: string) => ['Host', value, 'Accept', '*/*'];

  it.each(['CONNECT', 'TRACE'])('refuses %s with 405 method_not_allowed and an Allow header, whatever the Host', (method) => {
    const refusal = requestRefusal(method, host('gateway.example'));
    expect(refusal).toMatchObject({ status: 405, code: 'method_not_allowed' });
    expect(refusal?.headers?.Allow).toBe('GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
    expect(requestRefusal(method, [])).toMatchObject({ code: 'method_not_allowed' });
  });

  it.each(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND'])('lets %s through', (method) => {
    expect(requestRefusal(method, host('gateway.example'))).toBeNull();
  });

  it.each([
    'gateway.example',
    'gateway.example:8080',
    'gateway.example:65535',
    '127.0.0.1',
    '127.0.0.1:3000',
    '[::1]',
    '[::1]:3000',
    '[2001:db8::7]:443',
    'xn--bcher-kva.example',
    'a_b.internal',
    '',
  ])('accepts the Host %j', (value) => {
    expect(requestRefusal('GET', host(value))).toBeNull();
  });

  it.each([
    ['a path', 'evil.example/x'],
    ['userinfo', 'a@evil.example'],
    ['a backslash', 'evil.example\\x'],
    ['a space', 'evil.example x'],
    ['a tab', 'evil\t.example'],
    ['a port over 65535', 'gateway.example:65536'],
    ['a port that is no number', 'gateway.example:http'],
    ['an empty port', 'gateway.example:'],
    ['two ports', 'gateway.example:80:81'],
    ['a port without a host', ':80'],
    ['a bracket that is no IPv6 address', '[evil.example]'],
    ['an unbracketed IPv6 address', '::1'],
    ['a query', 'evil.example?x'],
    ['a fragment', 'evil.example#x'],
    ['a bad escape', 'evil%zz.example'],
    ['non-ASCII', 'évil.example'],
  ])('refuses a Host with %s (%j) with 400 bad_request', (_what, value) => {
    expect(requestRefusal('GET', host(value))).toMatchObject({ status: 400, code: 'bad_request' });
  });

  it('refuses two Host fields, in any case, even when they agree', () => {
    expect(requestRefusal('GET', ['Host', 'a.example', 'host', 'a.example'])).toMatchObject({ code: 'bad_request' });
    expect(requestRefusal('GET', ['HOST', 'a.example', 'Accept', '*/*', 'hOsT', 'b.example'])).toMatchObject({
      code: 'bad_request',
      detail: expect.stringContaining('more than one Host') as string,
    });
  });

  it('lets a request without Host through (HTTP/1.0; Node itself requires one of HTTP/1.1)', () => {
    expect(requestRefusal('GET', ['Accept', '*/*'])).toBeNull();
  });

  it('reads only Host: other four-letter names and Host-like names are not counted', () => {
    expect(requestRefusal('GET', ['Date', 'x', 'From', 'y', 'Host', 'a.example', 'X-Host', 'b/c'])).toBeNull();
  });
});

import { startGateway, ADMIN_TOKEN, type TestGateway } from '../support/gateway';
import { call } from '../support/http-call';
import { makeKey, signToken, startJwksServer, type JwksServer } from '../support/jwks-server';
import { AUDIENCE, claims, ISSUER } from '../support/jwt-fixtures';
import { parseExposition, sumOf } from '../support/prometheus-text';
import { startRedis, waitFor, type RedisHandle } from '../support/redis-server';
import { startUpstream, type Upstream } from '../support/upstream';
import { createTenantWithKey } from './helpers/e2e-http';

/**
 * The metrics of the parts that fail (SPEC §8, §11): whether the store answers on each connection,
 * and how the key-set fetches went. Real redis-server (stopped and restarted), real JWKS server.
 */

let upstream: Upstream;
let redis: RedisHandle;
const gateways: TestGateway[] = [];
const jwks: JwksServer[] = [];

async function metrics(gw: TestGateway): Promise<ReturnType<typeof parseExposition>> {
  const reply = await call(gw.url, '/metrics', { headers: { 'x-admin-token': ADMIN_TOKEN } });
  expect(reply.status).toBe(200);
  return parseExposition(reply.text);
}

beforeAll(async () => {
  upstream = await startUpstream();
  redis = await startRedis({ ownServer: true });
});

afterAll(async () => {
  for (const gw of gateways) await gw.close();
  for (const server of jwks) await server.close();
  await redis.stop();
  await upstream.close();
});

describe('gateway_store_up{role}', () => {
  it('is 1 for the command and pub/sub connections while Redis answers, 0 while it is down, 1 again once it is back', async () => {
    const gw = await startGateway({ REDIS_URL: redis.url });
    gateways.push(gw);
    const up = async () => {
      const samples = await metrics(gw);
      return [sumOf(samples, 'gateway_store_up', { role: 'command' }), sumOf(samples, 'gateway_store_up', { role: 'pubsub' })];
    };
    await waitFor(async () => (await up()).join() === '1,1', 5000, 'both connections up');

    await redis.stop();
    await waitFor(async () => (await up()).join() === '0,0', 5000, 'both connections down');

    // The same port again: both connections reconnect by themselves.
    await redis.restart();
    await waitFor(async () => (await up()).join() === '1,1', 10_000, 'both connections back');
  });
});

describe('gateway_jwks_fetches_total{result}', () => {
  it('counts a fetch that worked, one that failed, and a refetch refused by the cooldown', async () => {
    const key = await makeKey('RS256');
    const server = await startJwksServer([key]);
    jwks.push(server);
    const gw = await startGateway({}, { jwksCache: { cooldownMs: 60_000, retryMs: 60_000 } });
    gateways.push(gw);
    const apiKey = await createTenantWithKey(gw, {
      id: 'jwks-metrics',
      upstreamBaseUrl: upstream.url,
      allowedRoutes: [{ path: '/' }],
      idp: { issuer: ISSUER, audience: AUDIENCE, jwksUri: server.jwksUri },
    });
    const send = async (token: string) =>
      (await call(gw.url, '/api/x', { headers: { 'x-api-key': apiKey, authorization: `Bearer ${token}` } })).status;

    expect(await send(await signToken(key, claims()))).toBe(200);
    // An unknown kid right after the fetch: the cooldown refuses the refetch.
    const stranger = await makeKey('RS256');
    expect(await send(await signToken(stranger, claims()))).toBe(401);
    let samples = await metrics(gw);
    expect(sumOf(samples, 'gateway_jwks_fetches_total', { result: 'ok' })).toBe(1);
    expect(sumOf(samples, 'gateway_jwks_fetches_total', { result: 'throttled' })).toBe(1);
    expect(sumOf(samples, 'gateway_jwks_fetches_total', { result: 'error' })).toBe(0);

    // A second tenant on an IdP that is down: the fetch fails, and the retry delay refuses the next one.
    server.mode = 'error';
    const down = await startJwksServer([key]);
    jwks.push(down);
    down.mode = 'error';
    const otherKey = await createTenantWithKey(gw, {
      id: 'jwks-metrics-down',
      upstreamBaseUrl: upstream.url,
      allowedRoutes: [{ path: '/' }],
      idp: { issuer: ISSUER, audience: AUDIENCE, jwksUri: down.jwksUri },
    });
    const token = await signToken(key, claims());
    for (let i = 0; i < 2; i++) {
      const reply = await call(gw.url, '/api/x', { headers: { 'x-api-key': otherKey, authorization: `Bearer ${token}` } });
      expect(reply.status).toBe(503);
    }
    samples = await metrics(gw);
    expect(sumOf(samples, 'gateway_jwks_fetches_total', { result: 'error' })).toBe(1);
    expect(sumOf(samples, 'gateway_jwks_fetches_total', { result: 'throttled' })).toBe(2);
  });
});

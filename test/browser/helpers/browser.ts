import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/**
 * The browser tier: Debian's Chromium driven by playwright-core (never a downloaded browser), on a
 * root, offline machine: no sandbox, no GPU, no background traffic, an empty profile per launch.
 */

export const CHROMIUM = '/usr/bin/chromium';
const INSTALL = 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium';
const LAUNCH_TIMEOUT_MS = 30_000;
/** Every fetch made in the page gives up after this: a test fails, it never hangs. */
const FETCH_TIMEOUT_MS = 5_000;

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];

export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** One Chromium with an empty temporary profile; fails with the install command when Chromium is missing. */
export async function launchChromium(): Promise<BrowserSession> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`The browser tests need Chromium at ${CHROMIUM}, which is missing. Install it with: ${INSTALL}`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'gateway-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      timeout: LAUNCH_TIMEOUT_MS,
    });
    context.setDefaultTimeout(10_000);
    context.setDefaultNavigationTimeout(10_000);
    const page = context.pages()[0] ?? (await context.newPage());
    return {
      context,
      page,
      close: async () => {
        await context.close();
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
}

export interface PageServer {
  /** `http://127.0.0.1:<port>`: the origin the browser app runs on. */
  origin: string;
  close(): Promise<void>;
}

/** The cookie the app's page sets: sent to the gateway (same site, another port) only with credentials. */
export const SESSION_COOKIE = 'session=browser-app';

/** Serves the browser app's page: an empty document that sets a session cookie. */
export async function startPageServer(): Promise<PageServer> {
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'set-cookie': `${SESSION_COOKIE}; Path=/; SameSite=Lax`,
      'cache-control': 'no-store',
    });
    res.end('<!doctype html><html><head><title>browser app</title></head><body></body></html>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface FetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  credentials?: 'omit' | 'same-origin' | 'include';
}

/** What the app's script sees: the status, the headers it may read, the body; or the error fetch threw. */
export type FetchOutcome =
  | { ok: true; status: number; headers: Record<string, string>; text: string }
  | { ok: false; error: string };

/** `fetch` run by the page itself, so the browser applies CORS exactly as for a real app. */
export function browserFetch(page: Page, url: string, init: FetchInit = {}): Promise<FetchOutcome> {
  return page.evaluate(
    async ({ url, init, timeoutMs }): Promise<FetchOutcome> => {
      try {
        const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
        const headers: Record<string, string> = {};
        res.headers.forEach((value, name) => (headers[name] = value));
        return { ok: true, status: res.status, headers, text: await res.text() };
      } catch (err) {
        return { ok: false, error: String(err) };
      }
    },
    { url, init, timeoutMs: FETCH_TIMEOUT_MS },
  );
}

/** The outcome of a fetch that must have succeeded; fails with what happened otherwise. */
export function answered(outcome: FetchOutcome): Extract<FetchOutcome, { ok: true }> {
  if (!outcome.ok) throw new Error(`fetch failed in the browser: ${outcome.error}`);
  return outcome;
}

/** What Chromium's fetch throws when CORS refuses a call: a network error, nothing readable. */
export const CORS_FAILURE = /^TypeError: Failed to fetch/;

/**
 * Counts the requests a server receives, by method and request-target, as they arrive: preflights
 * included, which the gateway answers itself and the upstream never sees.
 */
export function countArrivals(server: http.Server): (method: string, target: string) => number {
  const counts = new Map<string, number>();
  // First in line, before the gateway's own listener can rewrite req.url for the upstream.
  server.prependListener('request', (req: http.IncomingMessage) => {
    const key = `${req.method} ${req.url}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  });
  return (method, target) => counts.get(`${method} ${target}`) ?? 0;
}

export interface Arrival {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface AppUpstream {
  url: string;
  /** Every request received, in order. */
  received: Arrival[];
  /** The requests received for this upstream path. */
  at(url: string): Arrival[];
  close(): Promise<void>;
}

/** The header an upstream exposes itself, on paths ending in /exposing. */
export const UPSTREAM_NOTE = 'X-Upstream-Note';

/**
 * The browser app's API behind the gateway: echoes method, url, headers and body as JSON. On paths
 * ending in /exposing it also sends CORS headers of its own: X-Upstream-Note listed in its
 * Access-Control-Expose-Headers, and an Access-Control-Allow-Origin "*" that the gateway must replace.
 */
export async function startAppUpstream(): Promise<AppUpstream> {
  const received: Arrival[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const arrival: Arrival = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(arrival);
      const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json' };
      if (arrival.url.endsWith('/exposing')) {
        headers['access-control-allow-origin'] = '*';
        headers['access-control-expose-headers'] = UPSTREAM_NOTE;
        headers[UPSTREAM_NOTE.toLowerCase()] = 'from-the-upstream';
      }
      res.writeHead(200, headers);
      res.end(JSON.stringify(arrival));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    at: (url) => received.filter((r) => r.url === url),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

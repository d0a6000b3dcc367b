import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, loadDotEnv } from '../../../src/config/config.loader';
import { ENV_VARIABLES } from '../../../src/config/env.schema';

type Env = Record<string, string | undefined>;

/** Runs loadConfig expecting a ConfigError and returns it. */
function configError(env: Env): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`expected ConfigError for ${JSON.stringify(env)}`);
}

function problemVariables(env: Env): string[] {
  return configError(env).problems.map((p) => p.variable);
}

describe('loadConfig', () => {
  describe('defaults', () => {
    it('builds the documented defaults from an empty environment', () => {
      expect(loadConfig({})).toEqual({
        port: 3000,
        host: '0.0.0.0',
        redis: null,
        logLevel: 'info',
        adminToken: null,
        corsOrigins: null,
        corsAllowedHeaders: [],
        corsMaxAge: 600,
        tenantCacheTtlMs: 5000,
        tenantsFile: null,
        upstreamTimeoutMs: 30000,
        maxBodyBytes: 10485760,
        rateLimitFailureMode: 'open',
        jwtClockToleranceS: 5,
        jwtCacheSize: 10000,
        jwksAllowHttp: false,
        trustProxy: false,
        allowUnderscoreHeaders: false,
        shutdownGraceMs: 25000,
        auditMaxEntries: 100000,
        adminPort: null,
        adminHost: '127.0.0.1',
        metricsToken: null,
        shutdownDelayMs: 0,
        workers: 1,
      });
    });

    it('treats empty strings as unset', () => {
      const empty: Env = {};
      for (const name of [
        'PORT', 'HOST', 'LOG_LEVEL', 'ADMIN_TOKEN', 'CORS_ORIGINS', 'TENANT_CACHE_TTL_MS', 'TENANTS_FILE',
        'UPSTREAM_TIMEOUT_MS', 'MAX_BODY_BYTES', 'RATE_LIMIT_FAILURE_MODE', 'JWT_CLOCK_TOLERANCE_S',
        'JWT_CACHE_SIZE', 'JWKS_ALLOW_HTTP', 'TRUST_PROXY', 'SHUTDOWN_GRACE_MS', 'SHUTDOWN_DELAY_MS', 'WORKERS', 'REDIS_URL', 'REDIS_HOST', 'REDIS_PORT',
        'REDIS_PASSWORD', 'REDIS_DB', 'REDIS_TLS', 'REDIS_TLS_REJECT_UNAUTHORIZED', 'REDIS_CLUSTER_NODES',
        'CORS_ALLOWED_HEADERS', 'CORS_MAX_AGE',
        'ALLOW_UNDERSCORE_HEADERS',
        'REDIS_SENTINELS', 'REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_PASSWORD',
      ]) {
        empty[name] = '';
      }
      expect(loadConfig(empty)).toEqual(loadConfig({}));
    });

    it('ignores unrelated variables', () => {
      expect(loadConfig({ PATH: '/usr/bin', HOME: '/root', NODE_ENV: 'production' })).toEqual(loadConfig({}));
    });
  });

  describe('frozen result', () => {
    it('freezes the config and every nested object', () => {
      const config = loadConfig({
        CORS_ORIGINS: 'https://a.example, https://b.example',
        REDIS_CLUSTER_NODES: 'n1:7000,n2:7001',
      });
      expect(Object.isFrozen(config)).toBe(true);
      expect(Object.isFrozen(config.corsOrigins)).toBe(true);
      expect(Object.isFrozen(config.redis)).toBe(true);
      if (config.redis?.mode !== 'cluster') throw new Error('expected cluster mode');
      expect(Object.isFrozen(config.redis.nodes)).toBe(true);
      expect(Object.isFrozen(config.redis.nodes[0])).toBe(true);
      expect(Object.isFrozen(config.redis.tls)).toBe(true);
      expect(() => {
        (config as { port: number }).port = 1;
      }).toThrow(TypeError);
      expect(() => (config.corsOrigins as string[]).push('https://evil.example')).toThrow(TypeError);
    });

    it('does not mutate or keep a reference to the input', () => {
      const env: Env = { PORT: '8080' };
      const config = loadConfig(env);
      env.PORT = '9090';
      expect(config.port).toBe(8080);
      expect(Object.isFrozen(env)).toBe(false);
    });
  });

  describe('PORT', () => {
    it.each([
      ['0', 0],
      ['80', 80],
      ['8080', 8080],
      ['65535', 65535],
      ['007', 7],
    ])('accepts %j', (value, expected) => {
      expect(loadConfig({ PORT: value }).port).toBe(expected);
    });

    it.each(['abc', '65536', '-1', '1e3', '12abc', ' ', ' 80', '80.0', '0x50', '+80', '99999999999999999999'])(
      'rejects %j naming PORT',
      (value) => {
        const err = configError({ PORT: value });
        expect(err.problems).toEqual([{ variable: 'PORT', message: expect.stringContaining('integer') }]);
        expect(err.message).toMatch(/^PORT: /m);
      },
    );
  });

  describe('HOST', () => {
    it.each(['127.0.0.1', '::', 'gateway.internal'])('accepts %j', (value) => {
      expect(loadConfig({ HOST: value }).host).toBe(value);
    });

    it.each(['   ', 'local host'])('rejects %j naming HOST', (value) => {
      expect(problemVariables({ HOST: value })).toEqual(['HOST']);
    });
  });

  describe('LOG_LEVEL', () => {
    it.each(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])('accepts %j', (level) => {
      expect(loadConfig({ LOG_LEVEL: level }).logLevel).toBe(level);
    });

    it('is case-insensitive', () => {
      expect(loadConfig({ LOG_LEVEL: 'DEBUG' }).logLevel).toBe('debug');
      expect(loadConfig({ LOG_LEVEL: 'Warn' }).logLevel).toBe('warn');
    });

    it.each(['verbose', 'warning', '3'])('rejects %j naming LOG_LEVEL', (value) => {
      const err = configError({ LOG_LEVEL: value });
      expect(err.problems.map((p) => p.variable)).toEqual(['LOG_LEVEL']);
      expect(err.problems[0].message).toContain('fatal, error, warn, info, debug, trace, silent');
    });
  });

  describe('ADMIN_TOKEN', () => {
    it('is null when unset', () => {
      expect(loadConfig({}).adminToken).toBeNull();
    });

    it('accepts a token of 16 or more characters', () => {
      expect(loadConfig({ ADMIN_TOKEN: '0123456789abcdef' }).adminToken).toBe('0123456789abcdef');
      const long = 'k'.repeat(64);
      expect(loadConfig({ ADMIN_TOKEN: long }).adminToken).toBe(long);
    });

    it.each(['changeme', '0123456789abcde', 'has space in the token', 'tab\tseparated-token-value'])(
      'rejects %j naming ADMIN_TOKEN without echoing it',
      (value) => {
        const err = configError({ ADMIN_TOKEN: value });
        expect(err.problems.map((p) => p.variable)).toEqual(['ADMIN_TOKEN']);
        expect(err.message).toMatch(/^ADMIN_TOKEN: /m);
        expect(err.message).not.toContain(value);
      },
    );
  });

  describe('CORS_ORIGINS', () => {
    it('is null when unset and "*" for a wildcard', () => {
      expect(loadConfig({}).corsOrigins).toBeNull();
      expect(loadConfig({ CORS_ORIGINS: '*' }).corsOrigins).toBe('*');
      expect(loadConfig({ CORS_ORIGINS: ' * ' }).corsOrigins).toBe('*');
    });

    it('parses a trimmed comma list of exact origins', () => {
      expect(
        loadConfig({ CORS_ORIGINS: ' https://app.example.com , http://localhost:5173,https://[::1]:8443 ' }).corsOrigins,
      ).toEqual(['https://app.example.com', 'http://localhost:5173', 'https://[::1]:8443']);
    });

    it('normalises origins to the form browsers send and drops duplicates', () => {
      expect(
        loadConfig({ CORS_ORIGINS: 'HTTPS://App.Example.com:443,https://app.example.com,http://a.example:80' })
          .corsOrigins,
      ).toEqual(['https://app.example.com', 'http://a.example']);
    });

    it.each([
      'app.example.com',
      'ftp://files.example.com',
      'https://app.example.com/',
      'https://app.example.com/path',
      'https://app.example.com?x=1',
      'https://user@app.example.com',
      'https://*.example.com',
      'https://app.example.com:99999',
      'https://a.example,*',
      ',',
    ])('rejects %j naming CORS_ORIGINS', (value) => {
      expect(problemVariables({ CORS_ORIGINS: value })).toEqual(['CORS_ORIGINS']);
    });

    it('reports each bad origin', () => {
      const err = configError({ CORS_ORIGINS: 'https://ok.example,bad-one,https://x.example/path' });
      expect(err.problems).toHaveLength(2);
      expect(err.message).toContain('"bad-one"');
      expect(err.message).toContain('"https://x.example/path"');
    });
  });

  describe('CORS_ALLOWED_HEADERS', () => {
    it('is an empty list when unset, and "*" for reflection', () => {
      expect(loadConfig({}).corsAllowedHeaders).toEqual([]);
      expect(loadConfig({ CORS_ALLOWED_HEADERS: ' * ' }).corsAllowedHeaders).toBe('*');
    });

    it('parses a trimmed comma list of header names, as written, without case-insensitive repeats', () => {
      expect(loadConfig({ CORS_ALLOWED_HEADERS: ' X-Correlation-Id ,x-app-trace,X-CORRELATION-ID,' }).corsAllowedHeaders).toEqual([
        'X-Correlation-Id',
        'x-app-trace',
      ]);
    });

    it.each([',', 'X-Good, bad name', 'X-Good,*', 'X-*', 'X-App:1', '"X-Quoted"'])('rejects %j naming CORS_ALLOWED_HEADERS', (value) => {
      expect(problemVariables({ CORS_ALLOWED_HEADERS: value })).toEqual(['CORS_ALLOWED_HEADERS']);
    });

    it('reports each bad name', () => {
      const err = configError({ CORS_ALLOWED_HEADERS: 'X-Ok,bad one,X-*' });
      expect(err.problems).toHaveLength(2);
      expect(err.message).toContain('"bad one"');
      expect(err.message).toContain('"X-*"');
    });
  });

  describe('CORS_MAX_AGE', () => {
    it('is 600 seconds by default, and takes 0 to 86400', () => {
      expect(loadConfig({}).corsMaxAge).toBe(600);
      expect(loadConfig({ CORS_MAX_AGE: '0' }).corsMaxAge).toBe(0);
      expect(loadConfig({ CORS_MAX_AGE: '86400' }).corsMaxAge).toBe(86400);
    });

    it.each(['-1', '86401', '10m', '1.5', '600000'])('rejects %j naming CORS_MAX_AGE', (value) => {
      expect(problemVariables({ CORS_MAX_AGE: value })).toEqual(['CORS_MAX_AGE']);
    });
  });

  describe.each([
    ['TENANT_CACHE_TTL_MS', 'tenantCacheTtlMs', 0],
    ['UPSTREAM_TIMEOUT_MS', 'upstreamTimeoutMs', 1],
    ['MAX_BODY_BYTES', 'maxBodyBytes', 0],
    ['JWT_CLOCK_TOLERANCE_S', 'jwtClockToleranceS', 0],
    ['JWT_CACHE_SIZE', 'jwtCacheSize', 0],
    ['SHUTDOWN_GRACE_MS', 'shutdownGraceMs', 0],
    ['SHUTDOWN_DELAY_MS', 'shutdownDelayMs', 0],
  ] as const)('%s', (variable, key, min) => {
    it(`accepts ${min} and larger integers`, () => {
      expect(loadConfig({ [variable]: String(min) })[key]).toBe(min);
      expect(loadConfig({ [variable]: '120000' })[key]).toBe(120000);
    });

    it.each(['-1', '1e3', '12abc', ' ', '1.5', 'ten'])(`rejects %j naming ${variable}`, (value) => {
      expect(problemVariables({ [variable]: value })).toEqual([variable]);
    });
  });

  it('rejects UPSTREAM_TIMEOUT_MS=0', () => {
    expect(problemVariables({ UPSTREAM_TIMEOUT_MS: '0' })).toEqual(['UPSTREAM_TIMEOUT_MS']);
  });

  it.each(['TENANT_CACHE_TTL_MS', 'UPSTREAM_TIMEOUT_MS', 'SHUTDOWN_GRACE_MS', 'SHUTDOWN_DELAY_MS'])(
    'rejects %s beyond the largest timer delay Node supports',
    (variable) => {
      expect(loadConfig({ [variable]: '2147483647' })).toBeDefined();
      expect(problemVariables({ [variable]: '2147483648' })).toEqual([variable]);
    },
  );

  describe('REDIS_SENTINELS (SPEC §11)', () => {
    const sentinel = { REDIS_SENTINELS: 's1:26379, [::1]:26380', REDIS_SENTINEL_NAME: 'mymaster' };

    it('reads the Sentinels, the group, both passwords and the db', () => {
      const config = loadConfig({ ...sentinel, REDIS_SENTINEL_PASSWORD: 'sp', REDIS_PASSWORD: 'dp', REDIS_DB: '2' });
      expect(config.redis).toEqual({
        mode: 'sentinel',
        sentinels: [{ host: 's1', port: 26379 }, { host: '::1', port: 26380 }],
        name: 'mymaster',
        sentinelPassword: 'sp',
        password: 'dp',
        db: 2,
        tls: { enabled: false, rejectUnauthorized: true },
      });
    });

    it('needs REDIS_SENTINEL_NAME', () => {
      expect(problemVariables({ REDIS_SENTINELS: 's1:26379' })).toEqual(['REDIS_SENTINEL_NAME']);
    });

    it.each([
      ['REDIS_URL', 'redis://r:6379'],
      ['REDIS_HOST', 'r'],
      ['REDIS_CLUSTER_NODES', 'c1:7000'],
    ])('with %s is an error naming both', (other, value) => {
      expect(problemVariables({ ...sentinel, [other]: value }).sort()).toEqual([other, 'REDIS_SENTINELS'].sort());
      expect(() => loadConfig({ ...sentinel, [other]: value })).toThrow(new RegExp(`REDIS_SENTINELS: cannot be combined with ${other}`));
      expect(() => loadConfig({ ...sentinel, [other]: value })).toThrow(new RegExp(`${other}: cannot be combined with REDIS_SENTINELS`));
    });

    it.each(['REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_PASSWORD'])('refuses %s without REDIS_SENTINELS', (name) => {
      expect(problemVariables({ REDIS_URL: 'redis://r:6379', [name]: 'x' })).toEqual([name]);
    });

    it.each(['s1', 's1:0', 's1:26379,nope'])('rejects REDIS_SENTINELS=%j', (value) => {
      expect(problemVariables({ REDIS_SENTINELS: value, REDIS_SENTINEL_NAME: 'm' })).toEqual(['REDIS_SENTINELS']);
    });

    it('allows workers', () => {
      expect(loadConfig({ ...sentinel, WORKERS: '2' }).workers).toBe(2);
    });
  });

  describe('WORKERS (SPEC §11)', () => {
    const redis = { REDIS_URL: 'redis://127.0.0.1:6379' };
    it('is a positive integer or auto', () => {
      expect(loadConfig({ ...redis, WORKERS: '4' }).workers).toBe(4);
      expect(loadConfig({ ...redis, WORKERS: ' AUTO ' }).workers).toBe('auto');
      expect(loadConfig({ WORKERS: '1' }).workers).toBe(1);
    });

    it.each(['0', '-1', '1.5', 'many', '1025'])('rejects %j naming WORKERS', (value) => {
      expect(problemVariables({ ...redis, WORKERS: value })).toEqual(['WORKERS']);
    });

    it.each(['2', 'auto'])('refuses WORKERS=%s with the embedded store, naming WORKERS', (value) => {
      expect(problemVariables({ WORKERS: value })).toEqual(['WORKERS']);
      expect(() => loadConfig({ WORKERS: value })).toThrow(/WORKERS: must be 1 with the embedded in-memory store/);
    });

    it.each([{ REDIS_HOST: 'redis' }, { REDIS_CLUSTER_NODES: 'a:7000' }, redis])('accepts more than one worker with Redis (%j)', (env) => {
      expect(loadConfig({ ...env, WORKERS: '2' }).workers).toBe(2);
    });
  });

  it('accepts a large MAX_BODY_BYTES', () => {
    expect(loadConfig({ MAX_BODY_BYTES: '1073741824' }).maxBodyBytes).toBe(1073741824);
  });

  describe('TENANTS_FILE', () => {
    it('is null when unset and the path otherwise', () => {
      expect(loadConfig({}).tenantsFile).toBeNull();
      expect(loadConfig({ TENANTS_FILE: './tenants.json' }).tenantsFile).toBe('./tenants.json');
    });

    it('rejects a blank path', () => {
      expect(problemVariables({ TENANTS_FILE: '  ' })).toEqual(['TENANTS_FILE']);
    });
  });

  describe('RATE_LIMIT_FAILURE_MODE', () => {
    it('accepts open and closed in any case', () => {
      expect(loadConfig({ RATE_LIMIT_FAILURE_MODE: 'closed' }).rateLimitFailureMode).toBe('closed');
      expect(loadConfig({ RATE_LIMIT_FAILURE_MODE: 'OPEN' }).rateLimitFailureMode).toBe('open');
    });

    it.each(['fail-open', 'deny', 'true'])('rejects %j', (value) => {
      expect(problemVariables({ RATE_LIMIT_FAILURE_MODE: value })).toEqual(['RATE_LIMIT_FAILURE_MODE']);
    });
  });

  describe('booleans (JWKS_ALLOW_HTTP)', () => {
    it.each([
      ['true', true],
      ['TRUE', true],
      ['1', true],
      ['yes', true],
      ['Yes', true],
      ['false', false],
      ['False', false],
      ['0', false],
      ['no', false],
      ['NO', false],
    ])('reads %j as %s', (value, expected) => {
      expect(loadConfig({ JWKS_ALLOW_HTTP: value }).jwksAllowHttp).toBe(expected);
    });

    it.each(['on', 'y', '2', 'enabled', 'truee'])('rejects %j naming JWKS_ALLOW_HTTP', (value) => {
      const err = configError({ JWKS_ALLOW_HTTP: value });
      expect(err.problems.map((p) => p.variable)).toEqual(['JWKS_ALLOW_HTTP']);
      expect(err.message).toContain(`JWKS_ALLOW_HTTP: must be true/false, yes/no or 1/0 (got "${value}")`);
    });
  });

  it('reads ALLOW_UNDERSCORE_HEADERS as a boolean, false by default (SPEC §18)', () => {
    expect(loadConfig({ ALLOW_UNDERSCORE_HEADERS: 'true' }).allowUnderscoreHeaders).toBe(true);
    expect(loadConfig({ ALLOW_UNDERSCORE_HEADERS: 'no' }).allowUnderscoreHeaders).toBe(false);
    expect(loadConfig({}).allowUnderscoreHeaders).toBe(false);
    expect(problemVariables({ ALLOW_UNDERSCORE_HEADERS: 'sometimes' })).toEqual(['ALLOW_UNDERSCORE_HEADERS']);
  });

  describe('TRUST_PROXY', () => {
    it.each([
      ['true', true],
      ['YES', true],
      ['false', false],
      ['no', false],
    ])('reads the word %j as %s', (value, expected) => {
      expect(loadConfig({ TRUST_PROXY: value }).trustProxy).toBe(expected);
    });

    it.each([
      ['0', 0],
      ['1', 1],
      ['2', 2],
    ])('reads the integer %j as a hop count', (value, expected) => {
      expect(loadConfig({ TRUST_PROXY: value }).trustProxy).toBe(expected);
    });

    it('keeps a list of addresses, subnets and names as a trimmed string', () => {
      expect(
        loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8 ,fd00::/8,192.168.1.7, uniquelocal, 172.16.0.0/255.240.0.0' })
          .trustProxy,
      ).toBe('loopback,10.0.0.0/8,fd00::/8,192.168.1.7,uniquelocal,172.16.0.0/255.240.0.0');
      expect(loadConfig({ TRUST_PROXY: 'linklocal' }).trustProxy).toBe('linklocal');
    });

    it.each(['-1', 'everything', '10.0.0.0/33', '300.1.1.1', 'loopback,,10.0.0.1', 'fd00::/129', '::1/255.0.0.0'])(
      'rejects %j naming TRUST_PROXY',
      (value) => {
        expect(problemVariables({ TRUST_PROXY: value })).toEqual(['TRUST_PROXY']);
      },
    );
  });

  describe('several problems', () => {
    it('reports every bad variable in one error, one per line', () => {
      const err = configError({
        PORT: 'abc',
        LOG_LEVEL: 'loud',
        ADMIN_TOKEN: 'short',
        JWKS_ALLOW_HTTP: 'maybe',
        REDIS_URL: 'http://redis:6379',
        MAX_BODY_BYTES: '1e6',
      });
      const variables = err.problems.map((p) => p.variable).sort();
      expect(variables).toEqual(['ADMIN_TOKEN', 'JWKS_ALLOW_HTTP', 'LOG_LEVEL', 'MAX_BODY_BYTES', 'PORT', 'REDIS_URL']);
      const lines = err.message.split('\n');
      expect(lines[0]).toBe('Invalid configuration (6 problems):');
      for (const { variable, message } of err.problems) expect(lines).toContain(`${variable}: ${message}`);
      expect(lines).toHaveLength(7);
    });

    it('is an Error named ConfigError', () => {
      const err = configError({ PORT: 'x' });
      expect(err).toBeInstanceOf(Error);
      expect(err.name).toBe('ConfigError');
      expect(err.message).toBe('Invalid configuration (1 problem):\nPORT: must be an integer from 0 to 65535 (got "x")');
    });
  });
});

describe('loadConfig Redis', () => {
  it('is null (embedded store) when no Redis address is set', () => {
    expect(loadConfig({}).redis).toBeNull();
    // Connection details without an address do not select Redis.
    expect(loadConfig({ REDIS_PASSWORD: 'secret', REDIS_TLS: 'true', REDIS_PORT: '6380' }).redis).toBeNull();
  });

  describe('REDIS_HOST', () => {
    it('uses the documented defaults', () => {
      expect(loadConfig({ REDIS_HOST: 'redis.internal' }).redis).toEqual({
        mode: 'single',
        url: null,
        host: 'redis.internal',
        port: 6379,
        password: null,
        db: 0,
        tls: { enabled: false, rejectUnauthorized: true },
      });
    });

    it('reads port, password, db and TLS options', () => {
      expect(
        loadConfig({
          REDIS_HOST: '10.0.0.5',
          REDIS_PORT: '6380',
          REDIS_PASSWORD: 's3cret pass',
          REDIS_DB: '3',
          REDIS_TLS: 'yes',
          REDIS_TLS_REJECT_UNAUTHORIZED: 'false',
        }).redis,
      ).toEqual({
        mode: 'single',
        url: null,
        host: '10.0.0.5',
        port: 6380,
        password: 's3cret pass',
        db: 3,
        tls: { enabled: true, rejectUnauthorized: false },
      });
    });

    it('accepts any non-negative REDIS_DB', () => {
      expect(loadConfig({ REDIS_HOST: 'r', REDIS_DB: '42' }).redis).toMatchObject({ db: 42 });
    });

    it.each([
      ['REDIS_PORT', '0'],
      ['REDIS_PORT', '65536'],
      ['REDIS_PORT', 'six'],
      ['REDIS_DB', '-1'],
      ['REDIS_DB', '1.0'],
      ['REDIS_TLS', 'maybe'],
      ['REDIS_TLS_REJECT_UNAUTHORIZED', 'nope'],
      ['REDIS_HOST', '   '],
    ])('rejects %s=%j', (variable, value) => {
      expect(problemVariables({ REDIS_HOST: 'r', [variable]: value })).toEqual([variable]);
    });
  });

  describe('REDIS_URL', () => {
    it('keeps the URL and parses host, port and db from it', () => {
      expect(loadConfig({ REDIS_URL: 'redis://cache.internal:6380/2' }).redis).toEqual({
        mode: 'single',
        url: 'redis://cache.internal:6380/2',
        host: 'cache.internal',
        port: 6380,
        password: null,
        db: 2,
        tls: { enabled: false, rejectUnauthorized: true },
      });
    });

    it('defaults port and db and reads the password from the URL', () => {
      expect(loadConfig({ REDIS_URL: 'redis://:p%40ss@cache' }).redis).toMatchObject({
        host: 'cache',
        port: 6379,
        db: 0,
        password: 'p@ss',
      });
      expect(loadConfig({ REDIS_URL: 'redis://cache/' }).redis).toMatchObject({ db: 0 });
    });

    it('lets REDIS_PASSWORD supply or override the password', () => {
      expect(loadConfig({ REDIS_URL: 'redis://cache', REDIS_PASSWORD: 'pw' }).redis).toMatchObject({ password: 'pw' });
      expect(loadConfig({ REDIS_URL: 'redis://:old@cache', REDIS_PASSWORD: 'new' }).redis).toMatchObject({
        password: 'new',
      });
    });

    it('strips brackets from an IPv6 host', () => {
      expect(loadConfig({ REDIS_URL: 'redis://[::1]:7000' }).redis).toMatchObject({ host: '::1', port: 7000 });
    });

    it('enables TLS for rediss:// and honours REDIS_TLS_REJECT_UNAUTHORIZED', () => {
      expect(loadConfig({ REDIS_URL: 'rediss://cache:6380' }).redis).toMatchObject({
        url: 'rediss://cache:6380',
        tls: { enabled: true, rejectUnauthorized: true },
      });
      expect(
        loadConfig({ REDIS_URL: 'rediss://cache:6380', REDIS_TLS_REJECT_UNAUTHORIZED: '0' }).redis,
      ).toMatchObject({ tls: { enabled: true, rejectUnauthorized: false } });
    });

    it('enables TLS for redis:// when REDIS_TLS is true', () => {
      expect(loadConfig({ REDIS_URL: 'redis://cache', REDIS_TLS: 'true' }).redis).toMatchObject({
        tls: { enabled: true },
      });
    });

    it('rejects REDIS_TLS=false with rediss://', () => {
      expect(problemVariables({ REDIS_URL: 'rediss://cache', REDIS_TLS: 'false' })).toEqual(['REDIS_TLS']);
    });

    it.each(['not a url', 'cache:6379', 'http://cache:6379', 'redis://cache/abc', 'redis:///0', 'redis://cache:0'])(
      'rejects %j naming REDIS_URL',
      (value) => {
        expect(problemVariables({ REDIS_URL: value })).toEqual(['REDIS_URL']);
      },
    );

    it('never echoes the URL, which may hold a password', () => {
      const err = configError({ REDIS_URL: 'http://:topsecret@cache/zz' });
      expect(err.message).toMatch(/^REDIS_URL: /m);
      expect(err.message).not.toContain('topsecret');
    });

    it.each(['REDIS_HOST', 'REDIS_PORT', 'REDIS_DB'])('rejects %s alongside REDIS_URL', (variable) => {
      expect(problemVariables({ REDIS_URL: 'redis://cache', [variable]: '1' })).toEqual([variable]);
    });
  });

  describe('REDIS_CLUSTER_NODES', () => {
    it('selects cluster mode with the listed nodes', () => {
      expect(
        loadConfig({
          REDIS_CLUSTER_NODES: 'node-a:7000, node-b:7001,10.0.0.3:7002,[fd00::1]:7003,',
          REDIS_PASSWORD: 'pw',
          REDIS_TLS: '1',
        }).redis,
      ).toEqual({
        mode: 'cluster',
        nodes: [
          { host: 'node-a', port: 7000 },
          { host: 'node-b', port: 7001 },
          { host: '10.0.0.3', port: 7002 },
          { host: 'fd00::1', port: 7003 },
        ],
        password: 'pw',
        tls: { enabled: true, rejectUnauthorized: true },
      });
    });

    it.each(['node-a', 'node-a:', ':7000', 'node-a:0', 'node-a:65536', 'node-a:70x', 'fd00::1:7000', ','])(
      'rejects %j naming REDIS_CLUSTER_NODES',
      (value) => {
        expect(problemVariables({ REDIS_CLUSTER_NODES: value })).toEqual(['REDIS_CLUSTER_NODES']);
      },
    );

    it('reports every bad node', () => {
      const err = configError({ REDIS_CLUSTER_NODES: 'ok:7000,bad,also:bad' });
      expect(err.problems).toHaveLength(2);
      expect(err.message).toContain('"bad"');
      expect(err.message).toContain('"also:bad"');
    });

    it('is an error to also set REDIS_URL', () => {
      const err = configError({ REDIS_CLUSTER_NODES: 'n1:7000', REDIS_URL: 'redis://cache' });
      expect(err.problems.map((p) => p.variable)).toEqual(['REDIS_URL']);
      expect(err.message).toContain('REDIS_URL: cannot be combined with REDIS_CLUSTER_NODES');
    });

    it.each(['REDIS_HOST', 'REDIS_PORT', 'REDIS_DB'])('rejects %s alongside REDIS_CLUSTER_NODES', (variable) => {
      expect(problemVariables({ REDIS_CLUSTER_NODES: 'n1:7000', [variable]: '1' })).toEqual([variable]);
    });
  });
});

describe('.env.example', () => {
  const example = readFileSync(join(__dirname, '../../../.env.example'), 'utf8');
  const entries = [...example.matchAll(/^# ([A-Z_]+)=(.*)$/gm)].map((m) => [m[1], m[2]] as const);

  it('documents every variable, each line a valid value', () => {
    expect(entries.map(([name]) => name).sort()).toEqual(Object.keys(ENV_VARIABLES).sort());
    // Sentinel's variables only make sense together: each is loaded with the others it needs.
    const companions: Record<string, Record<string, string>> = {
      REDIS_SENTINELS: { REDIS_SENTINEL_NAME: 'mymaster' },
      REDIS_SENTINEL_NAME: { REDIS_SENTINELS: 'sentinel-1:26379' },
      REDIS_SENTINEL_PASSWORD: { REDIS_SENTINELS: 'sentinel-1:26379', REDIS_SENTINEL_NAME: 'mymaster' },
    };
    for (const [name, value] of entries) expect(() => loadConfig({ ...companions[name], [name]: value })).not.toThrow();
  });

  it('shows the real defaults for every variable that has one', () => {
    // These lines show an example value instead: they have no default.
    const examplesOnly = [
      'CORS_ORIGINS', 'CORS_ALLOWED_HEADERS', 'TENANTS_FILE', 'REDIS_URL', 'REDIS_HOST', 'REDIS_CLUSTER_NODES', 'ADMIN_PORT',
      'REDIS_SENTINELS', 'REDIS_SENTINEL_NAME',
    ];
    const shown = Object.fromEntries(entries.filter(([name]) => !examplesOnly.includes(name)));
    expect(loadConfig(shown)).toEqual(loadConfig({}));
  });
});

describe('loadDotEnv', () => {
  let dir: string;
  const touched = ['CFG_TEST_FROM_FILE', 'CFG_TEST_ALREADY_SET', 'CFG_TEST_QUOTED'];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gateway-env-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    for (const name of touched) delete process.env[name];
  });

  it('loads variables from the file without overriding the environment', () => {
    const file = join(dir, '.env');
    writeFileSync(
      file,
      '# comment\nCFG_TEST_FROM_FILE=from-file\nCFG_TEST_ALREADY_SET=from-file\nCFG_TEST_QUOTED="a b # c"\n',
    );
    process.env.CFG_TEST_ALREADY_SET = 'from-env';
    loadDotEnv(file);
    expect(process.env.CFG_TEST_FROM_FILE).toBe('from-file');
    expect(process.env.CFG_TEST_ALREADY_SET).toBe('from-env');
    expect(process.env.CFG_TEST_QUOTED).toBe('a b # c');
  });

  it('does nothing when the file does not exist', () => {
    const before = { ...process.env };
    expect(() => loadDotEnv(join(dir, 'missing.env'))).not.toThrow();
    expect(process.env).toEqual(before);
  });
});

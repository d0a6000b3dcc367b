import { ConfigError, loadConfig } from '../../../src/config/config.loader';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configWarnings, logLevelOf } from '../../../src/config/config.loader';
import { ENV_VARIABLES, KNOWN_VARIABLES, lookalikeVariables } from '../../../src/config/env.schema';

/** Every variable SPEC §9 names, those of later sections included. */
const SPEC_VARIABLES = [
  'PORT', 'HOST', 'REDIS_URL', 'REDIS_HOST', 'REDIS_PORT', 'REDIS_PASSWORD', 'REDIS_DB', 'REDIS_TLS',
  'REDIS_TLS_REJECT_UNAUTHORIZED', 'REDIS_CLUSTER_NODES', 'LOG_LEVEL', 'ADMIN_TOKEN', 'CORS_ORIGINS',
  'TENANT_CACHE_TTL_MS', 'TENANTS_FILE', 'UPSTREAM_TIMEOUT_MS', 'MAX_BODY_BYTES', 'RATE_LIMIT_FAILURE_MODE',
  'JWT_CLOCK_TOLERANCE_S', 'JWKS_ALLOW_HTTP', 'TRUST_PROXY', 'SHUTDOWN_GRACE_MS', 'REDIS_SENTINELS',
  'REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_PASSWORD', 'WORKERS', 'SHUTDOWN_DELAY_MS', 'AUDIT_MAX_ENTRIES',
  'JWT_CACHE_SIZE', 'ADMIN_PORT', 'ADMIN_HOST', 'METRICS_TOKEN', 'ALLOW_UNDERSCORE_HEADERS',
  'CORS_ALLOWED_HEADERS', 'CORS_MAX_AGE',
];

describe('the environment schema', () => {
  it('knows every variable SPEC §9 names, and no other', () => {
    expect([...KNOWN_VARIABLES].sort()).toEqual([...SPEC_VARIABLES].sort());
  });

  it('is what docs/configuration.md documents: every variable read has a row in its table', () => {
    const table = readFileSync(join(__dirname, '../../../docs/configuration.md'), 'utf8');
    const documented = [...table.matchAll(/^\| (.+?) \|/gm)].flatMap((row) => [...row[1].matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]));
    expect(documented.sort()).toEqual(Object.keys(ENV_VARIABLES).sort());
  });
});

describe('configWarnings: variables that look like ours but are not (SPEC §9)', () => {
  it.each([
    ['REDIS_ULR', 'REDIS_URL'],
    ['LOG_LEVL', 'LOG_LEVEL'],
    ['log_level', 'LOG_LEVEL'],
    ['ADMIN_TOKN', 'ADMIN_TOKEN'],
    ['TENANT_FILE', 'TENANTS_FILE'],
    ['REDIS_SENTINEL', 'REDIS_SENTINELS'],
    ['PORTT', 'PORT'],
  ])('warns about %s, naming %s', (variable, suggestion) => {
    const warnings = configWarnings({ [variable]: 'some-value-123' });
    expect(warnings).toEqual([{ variable, suggestion, message: expect.stringContaining(suggestion) as string }]);
    expect(warnings[0].message).toContain(variable);
    expect(warnings[0].message).not.toContain('some-value-123');
  });

  it('says nothing about the variables it knows, built or not yet', () => {
    expect(configWarnings(Object.fromEntries(SPEC_VARIABLES.map((name) => [name, 'x'])))).toEqual([]);
  });

  it('says nothing about other software\'s variables, even short ones a few edits away', () => {
    const others = ['PATH', 'HOME', 'USER', 'SHELL', 'TERM', 'LANG', 'PWD', 'TZ', 'CI', 'HOSTNAME', 'NODE_ENV', 'NODE_OPTIONS',
      'DEBUG', 'LOGNAME', 'REDIS_SERVICE_HOST', 'REDIS_SERVICE_PORT', 'REDIS_PORT_6379_TCP', 'npm_lifecycle_event', 'JEST_WORKER_ID'];
    expect(lookalikeVariables(others)).toEqual([]);
  });

  it('ignores an empty lookalike, as empty variables count as unset', () => {
    expect(configWarnings({ REDIS_ULR: '' })).toEqual([]);
  });
});

describe('logLevelOf', () => {
  it('is LOG_LEVEL when valid, else the default', () => {
    expect(logLevelOf({ LOG_LEVEL: 'DEBUG' })).toBe('debug');
    expect(logLevelOf({ LOG_LEVEL: 'loud' })).toBe('info');
    expect(logLevelOf({ LOG_LEVEL: '' })).toBe('info');
    expect(logLevelOf({})).toBe('info');
  });
});

describe('control-plane listener and metrics token (SPEC §17)', () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig({ ADMIN_TOKEN: 'admin-token-0123456789', ...env });
      return [];
    } catch (err) {
      return (err as ConfigError).problems.map((p) => p.variable);
    }
  };

  it('reads ADMIN_PORT, ADMIN_HOST and METRICS_TOKEN', () => {
    const config = loadConfig({ ADMIN_TOKEN: 'admin-token-0123456789', ADMIN_PORT: '9000', ADMIN_HOST: '0.0.0.0', METRICS_TOKEN: 'scrape-token-0123456789' });
    expect([config.adminPort, config.adminHost, config.metricsToken]).toEqual([9000, '0.0.0.0', 'scrape-token-0123456789']);
  });

  it('refuses an ADMIN_PORT equal to PORT, a short METRICS_TOKEN, and one equal to ADMIN_TOKEN', () => {
    expect(problems({ ADMIN_PORT: '3000' })).toEqual(['ADMIN_PORT']);
    expect(problems({ PORT: '8080', ADMIN_PORT: '8080' })).toEqual(['ADMIN_PORT']);
    expect(problems({ ADMIN_PORT: 'abc' })).toEqual(['ADMIN_PORT']);
    expect(problems({ METRICS_TOKEN: 'short' })).toEqual(['METRICS_TOKEN']);
    expect(problems({ METRICS_TOKEN: 'admin-token-0123456789' })).toEqual(['METRICS_TOKEN']);
    expect(problems({ ADMIN_PORT: '0' })).toEqual([]);
  });
});

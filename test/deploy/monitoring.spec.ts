import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Metrics } from '../../src/observability/metrics';

/*
 * deploy/grafana/gateway-dashboard.json and deploy/prometheus/alerts.yml may only query metrics the
 * gateway exposes: a renamed metric would otherwise leave an empty panel or an alert that never fires.
 */

const ROOT = path.join(__dirname, '..', '..');
const DASHBOARD = path.join(ROOT, 'deploy/grafana/gateway-dashboard.json');
const ALERTS = path.join(ROOT, 'deploy/prometheus/alerts.yml');

/** Every series name Metrics exposes (histograms with their _bucket/_sum/_count), plus Prometheus's `up`. */
async function definedSeries(): Promise<Set<string>> {
  const names = new Set(['up']);
  for (const metric of await new Metrics().registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
  }
  return names;
}

const FUNCTIONS = new Set(['sum', 'rate', 'increase', 'histogram_quantile', 'clamp_min', 'max', 'avg', 'count', 'vector']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset']);

/** The metric names and the functions a PromQL expression uses (the subset of PromQL these files are written in). */
function referencesOf(expr: string): { metrics: string[]; functions: string[] } {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // label values
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // range selectors, Grafana's [$__rate_interval]
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '') // label lists
    .replace(/\boffset\s+\d+[smhdwy]\b/g, '')
    .replace(/\b\d+(?:\.\d+)?\b/g, '');
  const metrics: string[] = [];
  const functions: string[] = [];
  for (const m of bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    if (m[2] !== undefined) functions.push(m[1]);
    else if (!KEYWORDS.has(m[1])) metrics.push(m[1]);
  }
  return { metrics, functions };
}

interface Panel {
  title: string;
  datasource: { uid: string };
  targets: { expr: string }[];
}

describe('referencesOf', () => {
  it('finds metric names and functions, not labels, values, durations or keywords', () => {
    expect(
      referencesOf('sum by (le, tenantId) (rate(a_bucket{tenantId=~"$x", le!="b"}[5m])) > 2 * sum(rate(b_total[1h] offset 5m)) and up == 0'),
    ).toEqual({ metrics: ['a_bucket', 'b_total', 'up'], functions: ['sum', 'rate', 'sum', 'rate'] });
  });
});

describe('the Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    schemaVersion: number;
    templating: { list: { name: string; type: string; query: unknown }[] };
    panels: Panel[];
  };

  it('has a Prometheus data-source variable and a tenantId variable', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    const vars = Object.fromEntries(dashboard.templating.list.map((v) => [v.name, v]));
    expect(vars.datasource).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(vars.tenantId).toMatchObject({ type: 'query' });
    for (const panel of dashboard.panels) expect([panel.title, panel.datasource.uid]).toEqual([panel.title, '${datasource}']);
  });

  it('queries only metrics the gateway exposes, with known functions', async () => {
    const defined = await definedSeries();
    for (const panel of dashboard.panels) {
      expect(panel.targets.length).toBeGreaterThan(0);
      for (const { expr } of panel.targets) {
        const { metrics, functions } = referencesOf(expr);
        expect({ expr, metrics: metrics.length > 0, unknown: metrics.filter((m) => !defined.has(m)) }).toEqual({ expr, metrics: true, unknown: [] });
        expect({ expr, unknown: functions.filter((f) => !FUNCTIONS.has(f)) }).toEqual({ expr, unknown: [] });
      }
    }
  });

  it('shows traffic, latency, auth failures, rate limiting, upstream errors, in-flight and mutations', () => {
    const used = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => referencesOf(t.expr).metrics)));
    for (const name of [
      'gateway_requests_total',
      'gateway_latency_ms_bucket',
      'gateway_auth_failures_total',
      'gateway_rate_limited_total',
      'gateway_upstream_errors_total',
      'gateway_inflight_requests',
      'control_mutations_total',
      'gateway_store_up',
      'gateway_jwks_fetches_total',
      'gateway_worker_restarts_total',
    ]) {
      expect(used).toContain(name);
    }
  });
});

describe('the Prometheus alert rules', () => {
  const text = readFileSync(ALERTS, 'utf8');
  // One rule per `- alert:` block; expressions are kept on one line in this file.
  const rules = text
    .split(/^\s*- alert: /m)
    .slice(1)
    .map((block) => ({ name: block.split('\n')[0].trim(), block, expr: /^\s*expr: (.+)$/m.exec(block)?.[1] ?? '' }));

  it('covers gateway down, 5xx ratio, upstream error ratio and auth-failure spikes', () => {
    const exprs = rules.map((r) => r.expr).join('\n');
    expect(exprs).toMatch(/up\{job="secure-api-gateway"\} == 0/);
    expect(exprs).toMatch(/gateway_requests_total\{status=~"5\.\."\}/);
    expect(exprs).toMatch(/gateway_upstream_errors_total/);
    expect(exprs).toMatch(/gateway_auth_failures_total/);
  });

  it('covers the parts that fail: Redis unreachable, JWKS fetches failing, workers restarting (SPEC §11)', () => {
    const exprs = rules.map((r) => r.expr).join('\n');
    expect(exprs).toMatch(/gateway_store_up == 0/);
    expect(exprs).toMatch(/gateway_jwks_fetches_total\{result="error"\}/);
    expect(exprs).toMatch(/gateway_worker_restarts_total/);
  });

  it('gives every rule a duration, a severity and a summary and description', () => {
    expect(rules.length).toBeGreaterThanOrEqual(4);
    for (const rule of rules) {
      const has = (re: RegExp) => re.test(rule.block);
      expect([rule.name, has(/^\s*for: \d+[smh]$/m), has(/^\s*severity: (critical|warning)$/m), has(/^\s*summary: /m), has(/^\s*description: /m)]).toEqual([
        rule.name,
        true,
        true,
        true,
        true,
      ]);
    }
  });

  it('queries only metrics the gateway exposes', async () => {
    const defined = await definedSeries();
    for (const { expr } of rules) {
      const { metrics, functions } = referencesOf(expr);
      expect({ expr, metrics: metrics.length > 0, unknown: metrics.filter((m) => !defined.has(m)) }).toEqual({ expr, metrics: true, unknown: [] });
      expect({ expr, unknown: functions.filter((f) => !FUNCTIONS.has(f)) }).toEqual({ expr, unknown: [] });
    }
  });

  // promtool ships only with the full `prometheus` package; where it is not on PATH this check is
  // skipped (the checks above still run), where it is, the rules must pass Prometheus's own validation.
  const hasPromtool = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;
  const itIfPromtool = hasPromtool ? it : it.skip;
  itIfPromtool(`pass promtool check rules${hasPromtool ? '' : ' (skipped: promtool is not on PATH)'}`, () => {
    const result = spawnSync('promtool', ['check', 'rules', ALERTS], { encoding: 'utf8', timeout: 20_000 });
    expect({ status: result.status, output: result.stdout + result.stderr }).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
  });
  // alerts.test.yml: the auth-failure spike fires against a quiet hour, and for a replica's first flood.
  itIfPromtool(`pass their promtool unit tests${hasPromtool ? '' : ' (skipped: promtool is not on PATH)'}`, () => {
    const result = spawnSync('promtool', ['test', 'rules', ALERTS.replace(/\.yml$/, '.test.yml')], { encoding: 'utf8', timeout: 20_000 });
    expect({ status: result.status, output: result.stdout + result.stderr }).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
  });
});

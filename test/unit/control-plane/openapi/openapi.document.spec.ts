import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as z from 'zod';
import { buildOpenApiDocument } from '../../../../src/control-plane/openapi/openapi.document';
import { component, type Operation } from '../../../../src/control-plane/openapi/operation';
import { openApiDocument, openApiText, OPERATIONS } from '../../../../src/control-plane/openapi/operations';
import { ERROR_TABLE } from '../../../../src/errors/error-table';
import { OpenApiContract } from '../../../support/openapi-contract';

const ROOT = resolve(__dirname, '../../../..');
const VALIDATOR = join(ROOT, 'node_modules/@seriousme/openapi-schema-validator/bin/validate-api-cli.js');

/** Runs the validator's own command line on a document; it exits non-zero and says why when the document is not valid. */
function validateWithValidator(doc: unknown): { valid: boolean; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'openapi-'));
  try {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(doc));
    try {
      return { valid: true, output: execFileSync(process.execPath, [VALIDATOR, file], { encoding: 'utf8', timeout: 20_000 }) };
    } catch (err) {
      return { valid: false, output: String((err as { stdout?: string }).stdout ?? err) };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The document, read member by member (arbitrary JSON). */
type Json = ReturnType<typeof JSON.parse>;

const INFO = { title: 't', version: '1', description: 'd', tags: [] };
const op = (extra: Partial<Operation>): Operation => ({
  method: 'get',
  path: '/admin/x',
  operationId: 'x',
  tag: 't',
  summary: 's',
  responses: { 200: { description: 'ok' } },
  ...extra,
});

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1 (checked by @seriousme/openapi-schema-validator)', () => {
    const result = validateWithValidator(openApiDocument());
    expect(result).toEqual({ valid: true, output: expect.stringContaining('"valid": true') });
    expect(openApiDocument().openapi).toBe('3.1.0');
  });

  it('is refused by the same validator when it is broken (so the check above can fail)', () => {
    const broken = structuredClone(openApiDocument()) as Json;
    broken.components.securitySchemes.adminToken.in = 'body';
    expect(validateWithValidator(broken).valid).toBe(false);
  });

  it('is committed as docs/openapi.json, up to date (regenerate with `npm run openapi`)', () => {
    const committed = readFileSync(join(ROOT, 'docs/openapi.json'), 'utf8');
    expect(committed === openApiText() ? 'up to date' : 'docs/openapi.json is stale: run `npm run openapi`').toBe('up to date');
  });

  it('needs X-Admin-Token everywhere but /healthz and /readyz', () => {
    const doc = openApiDocument() as Json;
    expect(doc.components.securitySchemes.adminToken).toEqual(expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-Admin-Token' }));
    expect(doc.security).toEqual([{ adminToken: [] }]);
    const open = OPERATIONS.filter((o) => doc.paths[o.path][o.method].security?.length === 0).map((o) => o.path);
    expect(open.sort()).toEqual(['/healthz', '/readyz']);
    for (const o of OPERATIONS.filter((x) => x.auth !== 'none')) {
      expect([o.path, doc.paths[o.path][o.method].responses['401']?.content['application/problem+json']]).toEqual([o.path, expect.anything()]);
    }
  });

  it('takes request bodies from the schemas that validate them', () => {
    const doc = openApiDocument() as Json;
    const tenant = doc.components.schemas.Tenant;
    expect(tenant.additionalProperties).toBe(false);
    expect(tenant.required).toEqual(['id', 'upstreamBaseUrl', 'allowedRoutes']);
    expect(tenant.properties.id.pattern).toBe('^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$');
    expect(doc.components.schemas.TenantReplacement.required).toEqual(['upstreamBaseUrl', 'allowedRoutes']);
    expect(Object.keys(doc.components.schemas.KeyCreate.properties)).toEqual(['sha256', 'expiresAt', 'name', 'rateLimit']);
    expect(Object.keys(doc.components.schemas.ExplainRequest.properties)).toEqual(['apiKey', 'tenantId', 'method', 'path', 'headers']);
  });

  it('gives every problem status its codes, each answering with that status', () => {
    const doc = openApiDocument() as Json;
    for (const [path, item] of Object.entries<Json>(doc.paths)) {
      for (const [method, operation] of Object.entries<Json>(item)) {
        for (const [status, response] of Object.entries<Json>(operation.responses)) {
          const schema = response.content?.['application/problem+json']?.schema;
          if (schema === undefined) continue;
          const codes: string[] = schema.allOf[1].properties.code.enum;
          expect([method, path, status, codes.filter((c) => String(ERROR_TABLE[c as keyof typeof ERROR_TABLE].status) !== status)]).toEqual([method, path, status, []]);
        }
      }
    }
  });

  it('validates answers with the contract checker: a wrong field, status or type is reported', () => {
    const contract = new OpenApiContract(openApiDocument());
    const headers = { 'content-type': 'application/json', 'x-request-id': 'r' };
    const key = { keyId: 'k', name: null, createdAt: '2030-01-01T00:00:00.000Z', expiresAt: null, expired: false, disabled: false, rateLimit: null, fingerprint: 'abcd' };
    const ok = { status: 200, headers, text: JSON.stringify({ keys: [key] }) };
    expect(contract.problems('GET /admin/tenants/{id}/keys', ok)).toEqual([]);
    const extra = { ...ok, text: JSON.stringify({ keys: [{ ...key, hash: 'x' }] }) };
    expect(contract.problems('GET /admin/tenants/{id}/keys', extra).join()).toMatch(/additional/);
    expect(contract.problems('GET /admin/tenants/{id}/keys', { ...ok, status: 418 }).join()).toMatch(/not documented/);
    expect(contract.problems('GET /admin/tenants/{id}/keys', { ...ok, headers: { ...headers, 'content-type': 'text/html' } }).join()).toMatch(/content type/);
    const problem = { status: 404, headers: { 'content-type': 'application/problem+json', 'x-request-id': 'r' }, text: JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'd', code: 'key_not_found', requestId: 'r' }) };
    expect(contract.problems('GET /admin/tenants/{id}/keys', problem).join()).toMatch(/allowed values/);
  });
});

describe('buildOpenApiDocument', () => {
  it('refuses an operation declared twice', () => {
    expect(() => buildOpenApiDocument([op({}), op({})], [], INFO)).toThrow('GET /admin/x is declared twice');
  });

  it('refuses path parameters that do not match the template', () => {
    expect(() => buildOpenApiDocument([op({ path: '/admin/x/{id}' })], [], INFO)).toThrow(/path parameters id are described as/);
  });

  it('refuses two different schemas under one name', () => {
    const a = component('A', z.strictObject({ a: z.string() }));
    const b = component('A', z.strictObject({ b: z.string() }));
    const ops = [op({ responses: { 200: { description: 'a', body: a } } }), op({ path: '/admin/y', responses: { 200: { description: 'b', body: b } } })];
    expect(() => buildOpenApiDocument(ops, [], INFO)).toThrow('two different components are named A');
  });

  it('refuses a status that is both an answer and a problem', () => {
    expect(() => buildOpenApiDocument([op({ responses: { 404: { description: 'x' } }, errors: ['tenant_not_found'] })], [], INFO)).toThrow(
      /status 404 is both/,
    );
  });
});

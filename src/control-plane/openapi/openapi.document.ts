import * as z from 'zod';
import { ERROR_TABLE, type ErrorCode } from '../../errors/error-table';
import type { Component, JsonObject, Operation, SuccessResponse } from './operation';

/**
 * Builds the OpenAPI 3.1 document of the control plane from its declared operations (operations.ts):
 * every schema is the zod schema that validates the request or types the answer, converted with
 * z.toJSONSchema; every problem code an operation lists becomes a response of its status.
 */

export interface DocumentInfo {
  title: string;
  version: string;
  description: string;
  tags: readonly { name: string; description: string }[];
}

const SCHEMAS = '#/components/schemas/';
const SECURITY_SCHEME = 'adminToken';

/** What every route behind the admin token may answer, besides its own codes. */
const ADMIN_ERRORS: readonly ErrorCode[] = ['invalid_admin_token', 'internal_error'];
/** What every route reading a JSON body may answer (the body is read by the edge, before the route). */
const BODY_ERRORS: readonly ErrorCode[] = ['malformed_json', 'payload_too_large', 'unsupported_media_type'];

const REQUEST_ID_HEADER = { $ref: '#/components/headers/X-Request-Id' };

/** The components every document has: the problem shape and what it refers to, plus `extra`. */
export function buildOpenApiDocument(
  operations: readonly Operation[],
  always: readonly Component[],
  info: DocumentInfo,
): JsonObject {
  const schemas = componentSchemas([...always, ...operations.flatMap(componentsOf)]);
  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const op of operations) {
    const item = (paths[op.path] ??= {});
    if (item[op.method] !== undefined) throw new Error(`${op.method.toUpperCase()} ${op.path} is declared twice`);
    item[op.method] = operationObject(op);
  }
  return {
    openapi: '3.1.0',
    info: { title: info.title, version: info.version, description: info.description },
    tags: info.tags,
    security: [{ [SECURITY_SCHEME]: [] }],
    paths,
    components: {
      schemas,
      securitySchemes: {
        [SECURITY_SCHEME]: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Admin-Token',
          description: 'ADMIN_TOKEN; compared in constant time. Missing or wrong: 401 invalid_admin_token.',
        },
      },
      headers: {
        'X-Request-Id': {
          description: "The request's id: the client's X-Request-Id when it is 1-128 characters of [A-Za-z0-9._-], else a new UUID.",
          schema: { type: 'string' },
        },
      },
    },
  };
}

function componentsOf(op: Operation): Component[] {
  const out: Component[] = [];
  if (op.body) out.push(op.body.component);
  for (const response of Object.values(op.responses)) if (response.body) out.push(response.body);
  return out;
}

/** Every component once, converted together so that one nested in another is a $ref to it. */
function componentSchemas(components: readonly Component[]): Record<string, JsonObject> {
  const byName = new Map<string, Component>();
  const nameOfSchema = new Map<z.ZodType, string>();
  const registry = z.registry<{ id: string }>();
  for (const c of components) {
    const known = byName.get(c.name);
    if (known !== undefined) {
      if (known.schema !== c.schema || known.derive !== c.derive) throw new Error(`two different components are named ${c.name}`);
      continue;
    }
    byName.set(c.name, c);
    if (c.derive) continue;
    const other = nameOfSchema.get(c.schema);
    if (other !== undefined) throw new Error(`components ${other} and ${c.name} declare the same schema`);
    nameOfSchema.set(c.schema, c.name);
    registry.add(c.schema, { id: c.name });
  }
  // Input: what a request may send (defaults optional, transforms before they run). Answers have no
  // transforms or defaults, and a stored tenant is a valid tenant body, so one reading fits both.
  const converted = z.toJSONSchema(registry, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12', uri: (id) => SCHEMAS + id })
    .schemas as Record<string, JsonObject>;
  const out: Record<string, JsonObject> = {};
  for (const [name, c] of [...byName].sort(([a], [b]) => a.localeCompare(b))) {
    if (c.derive) {
      const base = nameOfSchema.get(c.schema);
      if (base === undefined) throw new Error(`component ${name} is derived from a schema that no component declares`);
      out[name] = c.derive(structuredClone(bare(converted[base])));
    } else {
      out[name] = bare(converted[name]);
    }
  }
  return out;
}

/** A component schema without the members that belong to a standalone document. */
function bare(schema: JsonObject): JsonObject {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

function operationObject(op: Operation): JsonObject {
  const templateNames = [...op.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
  const declared = Object.keys(op.params ?? {});
  if (templateNames.join() !== declared.join()) {
    throw new Error(`${op.method.toUpperCase()} ${op.path}: path parameters ${templateNames.join(', ')} are described as ${declared.join(', ')}`);
  }
  const parameters = [
    ...Object.entries(op.params ?? {}).map(([name, description]) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } })),
    ...Object.entries(op.query ?? {}).map(([name, schema]) => {
      const { $schema: _s, description, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonObject;
      return { name, in: 'query', required: !schema.safeParse(undefined).success, description, schema: rest };
    }),
  ];
  const object: JsonObject = {
    operationId: op.operationId,
    tags: [op.tag],
    summary: op.summary,
    ...(op.description !== undefined && { description: op.description }),
    ...(op.auth === 'none' && { security: [] }),
    ...(parameters.length > 0 && { parameters }),
  };
  if (op.body) {
    const schema = { $ref: SCHEMAS + op.body.component.name };
    object.requestBody = {
      required: op.body.required ?? true,
      content: Object.fromEntries((op.body.contentTypes ?? ['application/json']).map((type) => [type, { schema }])),
    };
  }
  object.responses = responses(op);
  return object;
}

function responses(op: Operation): Record<string, JsonObject> {
  const out: Record<string, JsonObject> = {};
  for (const [status, response] of Object.entries(op.responses)) out[status] = successObject(response);
  const codes = new Set<ErrorCode>([
    ...(op.auth === 'none' ? [] : ADMIN_ERRORS),
    ...(op.body ? BODY_ERRORS : []),
    ...(op.usesStore ? (['state_unavailable'] as const) : []),
    ...(op.errors ?? []),
  ]);
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(ERROR_TABLE[code].status, [...(byStatus.get(ERROR_TABLE[code].status) ?? []), code]);
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    if (out[status] !== undefined) throw new Error(`${op.method.toUpperCase()} ${op.path}: status ${status} is both an answer and a problem`);
    out[status] = {
      description: `${ERROR_TABLE[list[0]].title}: ${list.join(', ')}`,
      headers: { 'X-Request-Id': REQUEST_ID_HEADER },
      content: {
        'application/problem+json': {
          schema: { allOf: [{ $ref: SCHEMAS + 'Problem' }, { properties: { status: { const: status }, code: { enum: list } } }] },
        },
      },
    };
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => Number(a) - Number(b)));
}

function successObject(response: SuccessResponse): JsonObject {
  const object: JsonObject = { description: response.description, headers: { 'X-Request-Id': REQUEST_ID_HEADER } };
  if (response.body) object.content = { 'application/json': { schema: { $ref: SCHEMAS + response.body.name } } };
  else if (response.text) object.content = { [response.text.contentType]: { schema: { type: 'string', description: response.text.description } } };
  return object;
}

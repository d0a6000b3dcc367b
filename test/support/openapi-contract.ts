import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

/**
 * Checks answers against the OpenAPI document: the status must be documented for the operation, the
 * media type must be one it lists, the documented headers must be there, and a JSON body must
 * validate (ajv, JSON Schema 2020-12, the dialect of OpenAPI 3.1) against the schema it gives.
 */

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- the document is read member by member

const DOC_ID = 'urn:gateway:openapi';
const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

export class OpenApiContract {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(readonly doc: Json) {
    addFormats(this.ajv);
    this.ajv.addSchema({ ...doc, $id: DOC_ID });
  }

  /** `GET /admin/tenants/{id}` for each documented operation. */
  operations(): string[] {
    return Object.entries(this.doc.paths as Json).flatMap(([path, item]) => Object.keys(item as Json).map((m) => `${m.toUpperCase()} ${path}`));
  }

  /** Documented statuses of an operation. */
  statuses(operation: string): number[] {
    return Object.keys(this.operation(operation).responses as Json).map(Number);
  }

  /** The problem codes the operation documents, over all its statuses. */
  codes(operation: string): string[] {
    return Object.values(this.operation(operation).responses as Record<string, Json>).flatMap((response) => {
      const problem = ((response.content as Json | undefined)?.['application/problem+json'] as Json | undefined)?.schema as
        | { allOf: { properties: { code: { enum: string[] } } }[] }
        | undefined;
      return problem === undefined ? [] : problem.allOf[1].properties.code.enum;
    });
  }

  operation(operation: string): Json {
    const [method, path] = operation.split(' ');
    const op = (this.doc.paths as Json)[path]?.[method.toLowerCase()] as Json | undefined;
    if (op === undefined) throw new Error(`${operation} is not in the document`);
    return op;
  }

  /** Every way `answer` departs from what the document says `operation` answers; empty when it conforms. */
  problems(operation: string, answer: Answer): string[] {
    const [method, path] = operation.split(' ');
    const response = (this.operation(operation).responses as Json)[String(answer.status)] as Json | undefined;
    if (response === undefined) return [`status ${answer.status} is not documented for ${operation} (body: ${answer.text.slice(0, 200)})`];
    const out: string[] = [];
    for (const name of Object.keys((response.headers as Json | undefined) ?? {})) {
      if (answer.headers[name.toLowerCase()] === undefined) out.push(`header ${name} is documented but missing`);
    }
    const content = response.content as Json | undefined;
    if (content === undefined) {
      if (answer.text !== '') out.push(`no body is documented, got ${answer.text.slice(0, 200)}`);
      return out;
    }
    const type = String(answer.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (content[type] === undefined) return [...out, `content type ${type || '(none)'} is not one of ${Object.keys(content).join(', ')}`];
    if (!type.endsWith('json')) return out;
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      return [...out, `the ${type} body is not JSON: ${answer.text.slice(0, 200)}`];
    }
    const ref = `${DOC_ID}#/${pointer('paths', path, method.toLowerCase(), 'responses', String(answer.status), 'content', type, 'schema')}`;
    let validate = this.compiled.get(ref);
    if (validate === undefined) {
      validate = this.ajv.compile({ $ref: ref });
      this.compiled.set(ref, validate);
    }
    if (!validate(body)) {
      out.push(...(validate.errors ?? []).map((e) => `body${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`));
    }
    return out;
  }
}

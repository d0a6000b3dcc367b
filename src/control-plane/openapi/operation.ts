import type * as z from 'zod';
import type { ErrorCode } from '../../errors/error-table';

/**
 * How a route describes itself in the OpenAPI document: one `Operation` per route, declared in the
 * `*.openapi.ts` file beside its controller, with the zod schemas that validate its requests and
 * type its answers. openapi.document.ts turns the list (operations.ts) into the document.
 */

/** A schema that appears in the document under `#/components/schemas/<name>`. */
export interface Component {
  readonly name: string;
  readonly schema: z.ZodType;
  /** Rewrites the generated JSON Schema (e.g. a field that one route lets the URL supply). */
  readonly derive?: (jsonSchema: JsonObject) => JsonObject;
}

export type JsonObject = { [member: string]: unknown };

export const component = (name: string, schema: z.ZodType, derive?: Component['derive']): Component => ({ name, schema, derive });

export interface SuccessResponse {
  readonly description: string;
  /** A JSON body of this schema; absent: no body (204). */
  readonly body?: Component;
  /** A body that is not JSON (the Prometheus text format). */
  readonly text?: { contentType: string; description: string };
}

export interface Operation {
  readonly method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI path template: `/admin/tenants/{id}`. */
  readonly path: string;
  readonly operationId: string;
  readonly tag: string;
  readonly summary: string;
  readonly description?: string;
  /** `admin` (default): X-Admin-Token. `none`: for load balancers. */
  readonly auth?: 'admin' | 'none';
  /** Path parameters, each described in a few words. */
  readonly params?: Readonly<Record<string, string>>;
  /** Query parameters, each a zod schema (with its description in .meta). */
  readonly query?: Readonly<Record<string, z.ZodType>>;
  /** The JSON request body; `required: false` when it may be left out. */
  readonly body?: { readonly component: Component; readonly required?: boolean; readonly contentTypes?: readonly string[] };
  /** Statuses that are not problem documents, by status. */
  readonly responses: Readonly<Record<number, SuccessResponse>>;
  /** The problem codes this route answers with, besides those every admin route can (see openapi.document.ts). */
  readonly errors?: readonly ErrorCode[];
  /** Reads or writes the state store: 503 state_unavailable when it is down. */
  readonly usesStore?: boolean;
}

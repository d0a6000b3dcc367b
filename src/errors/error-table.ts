import { STATUS_CODES } from 'node:http';

/** The log category of a denial's own line (SPEC §8); codes without one log only their `request` line. */
export type DenialCategory = 'auth' | 'policy';

/**
 * The SPEC §8 counter a data-plane denial adds to, beside gateway_requests_total:
 * gateway_auth_failures_total{reason}, gateway_route_denials_total or gateway_rate_limited_total.
 */
export type DenialMetric = 'auth_failure' | 'route_denial' | 'rate_limited';

interface Row {
  readonly status: number;
  readonly category: DenialCategory | null;
  readonly metric: DenialMetric | null;
}

/**
 * Every problem-JSON code the gateway answers with (SPEC §5.4, §6, §12, §13, §17, §18), in the order
 * of the SPEC's tables. This is the only list of codes: statuses, titles, log categories and metrics
 * are all read from here.
 */
const ROWS = {
  // Data plane (SPEC §5.4, §13, §18).
  bad_path: { status: 400, category: 'policy', metric: null },
  bad_request: { status: 400, category: 'policy', metric: null },
  method_not_allowed: { status: 405, category: 'policy', metric: null },
  missing_api_key: { status: 401, category: 'auth', metric: 'auth_failure' },
  invalid_api_key: { status: 401, category: 'auth', metric: 'auth_failure' },
  missing_jwt: { status: 401, category: 'auth', metric: 'auth_failure' },
  invalid_jwt: { status: 401, category: 'auth', metric: 'auth_failure' },
  tenant_disabled: { status: 403, category: 'policy', metric: null },
  key_disabled: { status: 403, category: 'policy', metric: null },
  route_not_allowed: { status: 403, category: 'policy', metric: 'route_denial' },
  payload_too_large: { status: 413, category: 'policy', metric: null },
  rate_limited: { status: 429, category: 'policy', metric: 'rate_limited' },
  tenant_misconfigured: { status: 500, category: null, metric: null },
  upstream_unavailable: { status: 502, category: null, metric: null },
  state_unavailable: { status: 503, category: null, metric: null },
  jwks_unavailable: { status: 503, category: 'auth', metric: 'auth_failure' },
  upstream_timeout: { status: 504, category: null, metric: null },
  // Control plane (SPEC §6, §12, §17).
  malformed_json: { status: 400, category: null, metric: null },
  invalid_request: { status: 400, category: null, metric: null },
  invalid_tenant: { status: 400, category: null, metric: null },
  invalid_admin_token: { status: 401, category: 'auth', metric: null },
  forbidden: { status: 403, category: null, metric: null },
  not_found: { status: 404, category: null, metric: null },
  tenant_not_found: { status: 404, category: null, metric: null },
  key_not_found: { status: 404, category: null, metric: null },
  token_not_found: { status: 404, category: null, metric: null },
  tenant_exists: { status: 409, category: null, metric: null },
  key_exists: { status: 409, category: null, metric: null },
  unsupported_media_type: { status: 415, category: null, metric: null },
  internal_error: { status: 500, category: null, metric: null },
} as const satisfies Record<string, Row>;

export type ErrorCode = keyof typeof ROWS;

/** The codes whose denials count in gateway_auth_failures_total, as its `reason` label. */
export type AuthFailureReason = { [C in ErrorCode]: (typeof ROWS)[C]['metric'] extends 'auth_failure' ? C : never }[ErrorCode];

export interface ErrorEntry extends Row {
  /** The problem document's `title`: the HTTP reason phrase of `status`. */
  readonly title: string;
}

export const ERROR_TABLE: Readonly<Record<ErrorCode, ErrorEntry>> = Object.freeze(
  Object.fromEntries(
    Object.entries(ROWS).map(([code, row]) => [code, Object.freeze({ ...row, title: STATUS_CODES[row.status] ?? 'Error' })]),
  ) as Record<ErrorCode, ErrorEntry>,
);

/** Every code, in table order. */
export const ERROR_CODES = Object.freeze(Object.keys(ROWS) as ErrorCode[]);

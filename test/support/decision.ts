import type { Decision } from '../../src/policy/decision';

/** A decision as the data plane starts one: method, request-target and headers; the rest as given. */
export function decisionFor(init: Partial<Decision> = {}): Decision {
  return { method: 'GET', target: '/api/', headers: {}, ...init };
}

import { component, type Operation } from '../openapi/operation';
import { ExplainRequestSchema } from './explain-request';
import { ExplanationSchema } from './explanation.schema';

const ExplainRequest = component('ExplainRequest', ExplainRequestSchema.meta({
  description: 'A request to explain: exactly one of apiKey or tenantId, the method, the path after /api (query allowed) and optional headers (e.g. authorization). The key and token never appear in the answer or in logs.',
}));
const Explanation = component('Explanation', ExplanationSchema);

export const EXPLAIN_OPERATIONS: readonly Operation[] = [
  {
    method: 'post',
    path: '/admin/explain',
    operationId: 'explain',
    tag: 'explain',
    summary: 'The decision the data plane would take for a request, step by step',
    body: { component: ExplainRequest },
    responses: { 200: { description: 'The decision (a denial is an answer too: decision "deny")', body: Explanation } },
    // A store that does not answer is part of the decision (deny, state_unavailable), not an error of the call.
    errors: ['invalid_request', 'tenant_not_found'],
  },
];

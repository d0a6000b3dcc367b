import type { Operation } from '../openapi/operation';

export const METRICS_OPERATIONS: readonly Operation[] = [
  {
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    tag: 'metrics',
    summary: 'Prometheus metrics of this process',
    responses: {
      200: {
        description: 'The Prometheus text exposition format',
        text: { contentType: 'text/plain', description: 'Prometheus text format 0.0.4' },
      },
    },
  },
];

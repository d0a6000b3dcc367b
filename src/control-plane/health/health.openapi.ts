import * as z from 'zod';
import { component, type Operation } from '../openapi/operation';

const Liveness = component('Liveness', z.strictObject({ status: z.literal('ok') }));
const Readiness = component('Readiness', z.strictObject({ status: z.enum(['ready', 'unavailable']) }));
const AdminHealth = component(
  'AdminHealth',
  z.strictObject({
    status: z.enum(['ok', 'unavailable']),
    plane: z.literal('control'),
    store: z.strictObject({ kind: z.enum(['redis', 'memory']), status: z.enum(['ready', 'down']) }),
  }),
);

export const HEALTH_OPERATIONS: readonly Operation[] = [
  {
    method: 'get',
    path: '/healthz',
    operationId: 'liveness',
    tag: 'health',
    summary: 'Liveness, for load balancers (no details)',
    auth: 'none',
    responses: { 200: { description: 'The process is up', body: Liveness } },
  },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'readiness',
    tag: 'health',
    summary: 'Readiness, for load balancers (no details)',
    auth: 'none',
    responses: {
      200: { description: 'The store answers and the process is not shutting down', body: Readiness },
      503: { description: 'The store does not answer, or the process is shutting down', body: Readiness },
    },
  },
  {
    method: 'get',
    path: '/admin/health',
    operationId: 'controlPlaneHealth',
    tag: 'health',
    summary: "The control plane's health and its store's",
    responses: {
      200: { description: 'The store answers', body: AdminHealth },
      503: { description: 'The store is down', body: AdminHealth },
    },
  },
];

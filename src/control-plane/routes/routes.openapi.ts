import * as z from 'zod';
import { ValidationIssueSchema } from '../../errors/problem.schema';
import { component, type Operation } from '../openapi/operation';

const RouteListing = component(
  'RouteListing',
  z.strictObject({
    routes: z.array(
      z.strictObject({
        tenantId: z.string(),
        tenantDisabled: z.boolean().meta({ description: "A disabled tenant's routes answer 403 tenant_disabled." }),
        path: z.string(),
        methods: z.array(z.string()).nullable().meta({ description: 'null: every method.' }),
        jwtRequired: z.boolean(),
        jwtSource: z.enum(['route', 'tenant', 'idp', 'default']).meta({ description: 'The setting that decided jwtRequired.' }),
      }),
    ),
    invalidTenants: z.array(z.strictObject({ id: z.string(), errors: z.array(ValidationIssueSchema) })),
  }),
);

export const ROUTE_OPERATIONS: readonly Operation[] = [
  {
    method: 'get',
    path: '/admin/routes',
    operationId: 'listRoutes',
    tag: 'routes',
    summary: "Every tenant's allowed routes with their effective JWT requirement",
    responses: { 200: { description: 'The routes, tenants in id order', body: RouteListing } },
    usesStore: true,
  },
];

import * as z from 'zod';
import { ERROR_CODES, type ErrorCode } from './error-table';

/**
 * The shape of every problem document the gateway writes (problem.ts), declared once for the
 * OpenAPI description and the clients that read it. RFC 9457 members plus ours: `code` (the stable
 * code to match on), `requestId`, and `errors` where a body failed validation.
 */

export const ValidationIssueSchema = z
  .strictObject({
    path: z.string().meta({ description: 'JSON path of the problem in the body ("" is the body itself), e.g. allowedRoutes[0].path' }),
    message: z.string(),
  })
  .meta({ description: 'One problem found in a request body.' });

export const ProblemSchema = z
  .strictObject({
    type: z.literal('about:blank'),
    title: z.string().meta({ description: 'The HTTP reason phrase of `status`.' }),
    status: z.number().int().min(400).max(599),
    detail: z.string(),
    code: z.enum(ERROR_CODES as [ErrorCode, ...ErrorCode[]]),
    requestId: z.string().meta({ description: 'Also sent as the X-Request-Id response header; quote it when reporting a problem.' }),
    errors: z.array(ValidationIssueSchema).optional().meta({ description: 'invalid_tenant, invalid_request: every problem found.' }),
  })
  .meta({ description: 'RFC 9457 problem details (application/problem+json).' });

export type ProblemDocument = z.output<typeof ProblemSchema>;

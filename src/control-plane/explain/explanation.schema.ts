import * as z from 'zod';
import { ERROR_CODES, type ErrorCode } from '../../errors/error-table';

const code = z.enum(ERROR_CODES as [ErrorCode, ...ErrorCode[]]);

/** One step of the pipeline as explain shows it; each step adds what it found (normalized path, tenant, route, ...). */
export const ExplainStepSchema = z
  .looseObject({
    step: z.string().meta({ description: 'path, api_key, route, jwt, rate_limit, proxy' }),
    ok: z.boolean(),
    code: code.optional().meta({ description: 'When ok is false: the code the data plane would answer with.' }),
    detail: z.string().optional(),
  })
  .meta({ description: 'One decision step; steps stop at the first refusal, as on the data plane.' });

/** The answer of POST /admin/explain (SPEC §6.1). */
export const ExplanationSchema = z
  .strictObject({
    decision: z.enum(['allow', 'deny']),
    status: z.number().int().meta({ description: '200 when the request would be proxied (the upstream then answers), else the status the gateway would answer with.' }),
    code: code.nullable(),
    steps: z.array(ExplainStepSchema),
    upstreamUrl: z.string().optional().meta({ description: 'Where the request would go, once the tenant and path are known.' }),
  })
  .meta({ description: 'What the data plane would decide, step by step; nothing is proxied and no rate-limit token is taken.' });

export type ExplainStep = z.output<typeof ExplainStepSchema>;
export type Explanation = z.output<typeof ExplanationSchema>;

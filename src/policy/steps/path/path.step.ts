import { Injectable } from '@nestjs/common';
import { badPath } from '../../../errors/gateway-error';
import type { Decision } from '../../decision';
import type { PolicyStep } from '../../step';
import { normalizePath } from './path-normalizer';

/** Step 1 (SPEC §5.1): the raw path after /api, normalized; the query string is kept aside unchanged. */
@Injectable()
export class PathStep implements PolicyStep {
  readonly name = 'path';

  run(decision: Decision): void {
    const raw = decision.target;
    const q = raw.indexOf('?');
    const rawPath = q === -1 ? raw : raw.slice(0, q);
    if (!rawPath.startsWith('/api') || (rawPath.length > 4 && rawPath[4] !== '/')) {
      throw badPath('The path must start with /api/.');
    }
    decision.path = normalizePath(rawPath.slice(4));
    decision.query = q === -1 ? '' : raw.slice(q);
  }

  shows(decision: Decision): Record<string, unknown> {
    return { normalized: decision.path };
  }
}

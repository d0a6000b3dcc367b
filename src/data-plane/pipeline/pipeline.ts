import { ApiKeyGuard } from './api-key/api-key.guard';
import { JwtGuard } from './jwt/jwt.guard';
import { PathGuard } from './path/path.guard';
import { RateLimitGuard } from './rate-limit/rate-limit.guard';
import { RouteGuard } from './route/route.guard';

/**
 * The data plane's steps (Nest guards), in the one order SPEC §5 gives; DataPlaneDispatcher runs
 * them in array order and stops at the first that throws or refuses. Declared here only.
 */
export const DATA_PLANE_PIPELINE = [PathGuard, ApiKeyGuard, RouteGuard, JwtGuard, RateLimitGuard] as const;

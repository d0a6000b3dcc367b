import type { RequestContext } from '../observability/request-context';

/** `/api`, `/api/…` and `/api?…`: exactly the requests the data plane serves. */
export function isDataPlaneTarget(url: string): boolean {
  return url.startsWith('/api') && (url.length === 4 || url[4] === '/' || url[4] === '?');
}

/** Which plane a request-target belongs to; logs and metrics count the planes apart. */
export function planeOf(url: string): RequestContext['plane'] {
  if (isDataPlaneTarget(url)) return 'data';
  if (url.startsWith('/admin') || url.startsWith('/metrics')) return 'control';
  return 'other';
}

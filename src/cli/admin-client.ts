import { CliFailure } from './cli-error';

/** A problem document as the gateway sends it (RFC 9457 with our `code`). */
export interface Problem {
  status: number;
  title?: string;
  detail?: string;
  code?: string;
  requestId?: string;
  errors?: { path: string; message: string }[];
}

const HINTS: Record<string, string[]> = {
  invalid_admin_token: ["check SAG_ADMIN_TOKEN or --token: it must be the gateway's ADMIN_TOKEN, or a tenant token (sat_...) that is neither expired nor revoked"],
  forbidden: ["the token's role may not do this: a tenant token acts for its own tenant only, a viewer only reads; use the operator's ADMIN_TOKEN"],
};

/** The gateway refused a request: its problem document, kept for callers that expect some codes. */
export class ProblemError extends CliFailure {
  constructor(
    readonly problem: Problem,
    what: string,
  ) {
    const code = problem.code === undefined ? '' : ` (${problem.code})`;
    const hint = HINTS[problem.code ?? ''] ?? [];
    super(`${what}: ${problem.title ?? `HTTP ${problem.status}`}: ${problem.detail ?? ''}${code}`.trimEnd(), [
      ...(problem.errors ?? []).map((e) => `${e.path || '(body)'}: ${e.message}`),
      ...hint,
    ]);
  }
}

export interface ClientOptions {
  url: string;
  token: string;
  timeoutMs?: number;
}

/** The admin API over HTTP: JSON in and out, X-Admin-Token on every request, problems thrown as ProblemError. */
export class AdminClient {
  private readonly base: string;

  constructor(private readonly opts: ClientOptions) {
    this.base = opts.url.replace(/\/+$/, '');
  }

  get url(): string {
    return this.base;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }

  /** An RFC 7396 merge patch: absent fields stay, null clears. */
  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body, 'application/merge-patch+json');
  }

  delete(path: string): Promise<void> {
    return this.request<void>('DELETE', path);
  }

  async request<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const headers: Record<string, string> = { 'X-Admin-Token': this.opts.token, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = contentType;
    const what = `${method} ${path}`;
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
      });
    } catch (err) {
      throw new CliFailure(`cannot reach the gateway at ${this.base}: ${reason(err)}`, ['set SAG_URL or --url to the gateway\'s address']);
    }
    const text = await res.text();
    if (res.ok) return (text === '' ? undefined : JSON.parse(text)) as T;
    let problem: Problem | undefined;
    try {
      const parsed = JSON.parse(text) as Problem;
      if (typeof parsed === 'object' && parsed !== null) problem = { ...parsed, status: res.status };
    } catch {
      problem = undefined;
    }
    throw new ProblemError(problem ?? { status: res.status, title: res.statusText, detail: text.slice(0, 200) }, what);
  }
}

/** Why fetch failed, in a few words: the cause's code and message (ECONNREFUSED ...) rather than "fetch failed". */
function reason(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return 'no answer in time';
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  if (cause?.message) return cause.message;
  return err instanceof Error ? err.message : String(err);
}

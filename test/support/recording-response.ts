import type { ServerResponse } from 'node:http';

/** Records what the gateway writes on a response: the members of ServerResponse it uses, nothing more. */
export class RecordingResponse {
  statusCode = 200;
  headersSent = false;
  destroyed = false;
  readonly headers = new Map<string, number | string | readonly string[]>();
  body: string | undefined;
  ends = 0;

  setHeader(name: string, value: number | string | readonly string[]): this {
    this.headers.set(name.toLowerCase(), value);
    return this;
  }

  getHeader(name: string): number | string | readonly string[] | undefined {
    return this.headers.get(name.toLowerCase());
  }

  end(chunk?: string): this {
    this.body = chunk;
    this.ends++;
    this.headersSent = true;
    return this;
  }

  destroy(): this {
    this.destroyed = true;
    return this;
  }

  asServerResponse(): ServerResponse {
    return this as unknown as ServerResponse;
  }
}

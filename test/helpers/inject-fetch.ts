/**
 * Device-side HTTP over Fastify's `app.inject`: the update and enrolment clients of the device
 * SDKs talk to a test server in the same process without a socket.
 */
import { BaseFetcher } from 'tuf-js';
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import type { FastifyInstance } from 'fastify';

/** A `fetch` answered by the test server. */
export function injectFetch(app: FastifyInstance): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const res = await app.inject({ method: (init?.method ?? 'GET') as 'GET', url: url.pathname + url.search, headers: (init?.headers ?? {}) as Record<string, string>, ...(init?.body !== undefined && { payload: init.body as string }) });
    return new Response(new Uint8Array(res.rawPayload), { status: res.statusCode, headers: res.headers as Record<string, string> });
  }) as typeof fetch;
}

/**
 * tuf-js transport over app.inject. Two ways to play a malicious mirror: `replace` serves other
 * bytes for URLs ending with a suffix; `tamper` flips one bit in targets whose URL ends with a suffix.
 */
export class InjectFetcher extends BaseFetcher {
  readonly replace = new Map<string, Uint8Array>();
  tamper: string | undefined;
  readonly #app: FastifyInstance;
  constructor(app: FastifyInstance) {
    super();
    this.#app = app;
  }
  override async fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    const forged = [...this.replace].find(([s]) => url.endsWith(s))?.[1];
    let bytes: Uint8Array;
    if (forged) bytes = new Uint8Array(forged);
    else {
      const res = await this.#app.inject({ method: 'GET', url: new URL(url).pathname });
      if (res.statusCode !== 200) throw new DownloadHTTPError('Failed to download', res.statusCode);
      bytes = new Uint8Array(res.rawPayload);
      if (this.tamper !== undefined && url.endsWith(this.tamper)) bytes[10]! ^= 0x01;
    }
    const copy = new Uint8Array(bytes);
    return new ReadableStream({ start: (c) => (c.enqueue(copy), c.close()) });
  }
}

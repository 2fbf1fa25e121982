/*
 * Small HTTP helpers: listen on 127.0.0.1 only, close for good (no lingering sockets), and a raw
 * client for requests supertest cannot make (no Content-Type, repeated header lines, chunked).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Answer } from './oauth';

export interface Listening {
  server: http.Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Starts `handler` (or an app's request listener) on 127.0.0.1 and an ephemeral port. */
export function listen(handler: (...args: Parameters<http.RequestListener>) => void | Promise<void>, port = 0): Promise<Listening> {
  // Koa's callback() returns a promise that never rejects: Koa answers every error itself.
  const server = http.createServer((req, res) => void handler(req, res));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const actual = (server.address() as AddressInfo).port;
      resolve({ server, port: actual, url: `http://127.0.0.1:${actual}`, close: () => closeServer(server) });
    });
  });
}

/** Stops accepting, destroys every connection (idle keep-alive ones too) and waits for the close. */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      server.closeAllConnections();
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export interface RawRequest {
  method?: string;
  path: string;
  /** An object, or a flat array of name/value pairs (allows repeated header lines). */
  headers?: Record<string, string> | string[];
  body?: string | Buffer;
  /** Send the body in these many chunks with Transfer-Encoding: chunked. */
  chunked?: boolean;
  agent?: http.Agent;
  timeoutMs?: number;
}

/** One request with Node's client, answered as an {@link Answer}. */
export function rawRequest(baseUrl: string, options: RawRequest): Promise<Answer> {
  const url = new URL(options.path, baseUrl);
  const started = performance.now();
  // Node adds Host only to object headers; a raw array needs its own (HTTP/1.1 servers refuse without).
  const headers =
    Array.isArray(options.headers) && !options.headers.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'host')
      ? ['host', url.host, ...options.headers]
      : options.headers;
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: options.method ?? 'POST',
        headers: headers as http.OutgoingHttpHeaders,
        agent: options.agent ?? false,
        setHost: true,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text, ms: performance.now() - started });
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${options.timeoutMs ?? 5000} ms`));
    }, options.timeoutMs ?? 5000);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    if (options.body !== undefined && options.chunked) {
      const buf = Buffer.from(options.body);
      const step = Math.max(1, Math.ceil(buf.length / 3));
      for (let i = 0; i < buf.length; i += step) req.write(buf.subarray(i, i + step));
      req.end();
    } else {
      req.end(options.body);
    }
  });
}

/** Encodes form parameters; an array value repeats the parameter. */
export function encodeForm(params: Record<string, string | readonly string[] | undefined>): string {
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (typeof value === 'string') form.append(name, value);
    else for (const v of value) form.append(name, v);
  }
  return form.toString();
}

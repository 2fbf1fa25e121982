/*
 * A JWK Set endpoint on 127.0.0.1 that misbehaves on command, and counts what it is asked.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listen, type Listening } from './http';

export type JwksMode =
  /** Serve the current key set. */
  | 'ok'
  /** 500 with an HTML body. */
  | 'error500'
  /** 200 with a body that is not JSON. */
  | 'invalid-json'
  /** 200 with JSON that is not a key set (no "keys" array). */
  | 'not-a-jwks'
  /** 200 with a valid key set padded past `oversizeBytes`. */
  | 'oversized'
  /** Never answer (until stopped). */
  | 'hang'
  /** Send the headers, then one byte every 100 ms, never finishing. */
  | 'drip'
  /** Destroy the connection without answering. */
  | 'reset'
  /** Answer after `delayMs`. */
  | 'slow';

export class JwksServer {
  mode: JwksMode = 'ok';
  keys: object[] = [];
  delayMs = 0;
  oversizeBytes = 0;
  /** Requests received, by path. */
  readonly hits: string[] = [];
  private listening: Listening | undefined;
  private lastPort = 0;
  private readonly pending = new Set<ServerResponse>();
  private readonly timers = new Set<NodeJS.Timeout>();

  get url(): string {
    return `http://127.0.0.1:${this.lastPort}/jwks.json`;
  }

  get base(): string {
    return `http://127.0.0.1:${this.lastPort}`;
  }

  get requests(): number {
    return this.hits.length;
  }

  /** Starts listening (again on the same port after a stop, when `samePort`). */
  async start(samePort = false): Promise<this> {
    this.listening = await listen((req, res) => this.handle(req, res), samePort ? this.lastPort : 0);
    this.lastPort = this.listening.port;
    return this;
  }

  /** Closes the port: further fetches get ECONNREFUSED. Hanging answers are cut. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const res of this.pending) res.destroy();
    this.pending.clear();
    await this.listening?.close();
    this.listening = undefined;
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.hits.push(req.url ?? '');
    req.resume();
    const json = JSON.stringify({ keys: this.keys });
    switch (this.mode) {
      case 'ok':
        res.writeHead(200, { 'content-type': 'application/json' }).end(json);
        return;
      case 'error500':
        res.writeHead(500, { 'content-type': 'text/html' }).end('<html><body>Internal Server Error</body></html>');
        return;
      case 'invalid-json':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys": [ {"kty": "RSA", ');
        return;
      case 'not-a-jwks':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys": "none", "x": [1,2,3]}');
        return;
      case 'oversized': {
        const padding = 'x'.repeat(Math.max(0, this.oversizeBytes - json.length + 1));
        res.writeHead(200, { 'content-type': 'application/json' }).end(`{"padding":"${padding}",${json.slice(1)}`);
        return;
      }
      case 'hang':
        this.pending.add(res);
        res.on('close', () => this.pending.delete(res));
        return;
      case 'drip': {
        this.pending.add(res);
        res.on('close', () => this.pending.delete(res));
        res.writeHead(200, { 'content-type': 'application/json' });
        let i = 0;
        const drip = () => {
          if (res.destroyed) return;
          res.write(json[i % json.length] ?? ' ');
          i += 1;
          this.later(100, drip);
        };
        drip();
        return;
      }
      case 'reset':
        req.socket.destroy();
        return;
      case 'slow':
        this.pending.add(res);
        res.on('close', () => this.pending.delete(res));
        this.later(this.delayMs, () => {
          if (!res.destroyed) res.writeHead(200, { 'content-type': 'application/json' }).end(json);
        });
        return;
    }
  }
}

/**
 * An HTTPS server on 127.0.0.1 with a certificate made for the test run by the openssl command
 * line (names: localhost, client.example, bundle.example, and the address 127.0.0.1), and an
 * https.Agent that trusts it: documents and key sets served over a real TLS handshake.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface TlsFixture {
  /** `https://127.0.0.1:PORT`. */
  origin: string;
  port: number;
  /** The certificate (PEM), to trust. */
  ca: string;
  /** An agent that trusts {@link ca} (keep-alive off, so each fetch is a new TLS handshake). */
  agent: Agent;
  /** Handlers by path; a path without one answers 404. */
  routes: Map<string, Handler>;
  /** Requests answered, by path. */
  hits: Record<string, number>;
  /** TLS connections accepted. */
  connections: number;
  server: Server;
  close(): Promise<void>;
}

/** Serves `value` as JSON with `headers`. */
export function json(value: unknown, headers: Record<string, string> = {}, status = 200): Handler {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(typeof value === 'string' ? value : JSON.stringify(value));
  };
}

export function makeCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'jwt-bearer-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,DNS:client.example,DNS:bundle.example,DNS:issuer.example,IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function startTlsServer(): Promise<TlsFixture> {
  const { key, cert } = makeCertificate();
  const routes = new Map<string, Handler>();
  const hits: Record<string, number> = {};
  const server = createServer({ key, cert }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    hits[path] = (hits[path] ?? 0) + 1;
    const handler = routes.get(path);
    if (handler) handler(req, res);
    else res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
  });
  const fixture = { connections: 0 } as TlsFixture;
  server.on('secureConnection', () => {
    fixture.connections += 1;
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const agent = new Agent({ ca: cert, keepAlive: false });
  return Object.assign(fixture, {
    origin: `https://127.0.0.1:${port}`,
    port,
    ca: cert,
    agent,
    routes,
    hits,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

/** A resolver that answers every name with `address` (and counts the questions). */
export function resolveTo(address: string): ((host: string) => Promise<Array<{ address: string; family: 4 | 6 }>>) & { calls: string[] } {
  const calls: string[] = [];
  const lookup = async (host: string) => {
    calls.push(host);
    return [{ address, family: (address.includes(':') ? 6 : 4) as 4 | 6 }];
  };
  return Object.assign(lookup, { calls });
}

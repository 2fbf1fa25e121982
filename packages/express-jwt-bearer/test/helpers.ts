/**
 * Keys, assertions and a 127.0.0.1 server for the express-jwt-bearer tests. Keys are minted once
 * per test file (this module is loaded once per file).
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, request as httpRequest, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createAssertion, JWT_BEARER_CLIENT_ASSERTION_TYPE, JWT_BEARER_GRANT_TYPE } from 'express-jwt-bearer';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const express4 = require('express4') as typeof express;

/** Express 5 and Express 4 (installed as the npm alias `express4`). */
export const EXPRESSES = [
  ['Express 5', express],
  ['Express 4', express4],
] as const;

/** `createAssertion`'s options (the adapters re-export the function, not its options type). */
type CreateAssertionOptions = Parameters<typeof createAssertion>[0];

export const AS = 'https://as.example.com';
export const SVC = 'https://svc.example.com';
export const CLIENT = 'client-1';

export const svcKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
export const clientKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });

export const grantOptions = () => ({ issuer: AS, issuers: [{ issuer: SVC, publicKey: svcKeys.publicKey }] });
export const clientOptions = () => ({ issuer: AS, clients: [{ clientId: CLIENT, publicKey: clientKeys.publicKey }] });

export function grantAssertion(o: Partial<CreateAssertionOptions> = {}): string {
  return createAssertion({ issuer: SVC, subject: 'alice', audience: AS, key: svcKeys.privateKey, keyId: 'svc-1', ...o });
}

export function clientAssertionJwt(o: Partial<CreateAssertionOptions> = {}): string {
  return createAssertion({ issuer: CLIENT, subject: CLIENT, audience: AS, key: clientKeys.privateKey, ...o });
}

export function grantForm(extra: Record<string, string> = {}, assertion = grantAssertion()): Record<string, string> {
  return { grant_type: JWT_BEARER_GRANT_TYPE, assertion, ...extra };
}

export function clientForm(extra: Record<string, string> = {}, assertion = clientAssertionJwt()): Record<string, string> {
  return { client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE, client_assertion: assertion, ...extra };
}

export const encode = (form: Record<string, string>) => new URLSearchParams(form).toString();

/** Starts `listener` on 127.0.0.1 and a free port. */
export function listen(listener: RequestListener): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(listener);
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

export function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/**
 * Sends a POST with `chunks` written one by one and no Content-Length (chunked transfer
 * encoding), or aborts after the chunks with `abort`. Resolves the status and body, or `undefined`
 * for an aborted request.
 */
export function rawPost(
  server: Server,
  chunks: (string | Buffer)[],
  options: { headers?: Record<string, string>; abort?: boolean } = {},
): Promise<{ status: number; body: string } | undefined> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method: 'POST', path: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded', ...options.headers } },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
      },
    );
    req.on('error', (err) => (options.abort ? resolve(undefined) : reject(err)));
    for (const chunk of chunks) req.write(chunk);
    if (options.abort) {
      // Let the server start reading, then drop the connection mid-body.
      setTimeout(() => {
        req.destroy();
        resolve(undefined);
      }, 50);
    } else {
      req.end();
    }
  });
}

/** Collects `unhandledRejection` events while a test runs. */
export function trackUnhandledRejections(): { reasons: unknown[]; stop(): void } {
  const reasons: unknown[] = [];
  const onRejection = (reason: unknown) => reasons.push(reason);
  process.on('unhandledRejection', onRejection);
  return { reasons, stop: () => process.off('unhandledRejection', onRejection) };
}

/** Lets pending rejections surface: Node reports them after the microtask queue drains. */
export const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

/*
 * The mixed workload of the sustained-load suite: a cycle of valid and invalid requests, each
 * with the answer it must get, driven by a fixed number of keep-alive workers until a deadline.
 */
import * as http from 'node:http';
import { randomUUID } from 'node:crypto';
import { JWT_BEARER_CLIENT_ASSERTION_TYPE } from 'jwt-bearer-core';
import { encodeForm, rawRequest } from './http';
import { seconds, signJws } from './keys';
import { errorProblem, type Answer } from './oauth';
import { AS_ISSUER, clientAssertionFor, GRANT_ISSUER_EC, HS_SECRET, world } from './world';

export const CONCURRENCY = 8;
export const BODY_LIMIT = 8 * 1024;

const w = world();

export interface Shot {
  kind: string;
  path: string;
  body: string;
  contentType?: string;
  /** Expected status and, for errors, `error`. */
  status: number;
  error?: string;
  /** Called with the answer (to remember accepted tokens). */
  after?: (answer: Answer) => void;
}

const clientForm = (assertion: string, extra: Record<string, string> = {}) =>
  encodeForm({ client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE, client_assertion: assertion, ...extra });

function ecClientAssertion(): string {
  const now = Date.now();
  return clientAssertionFor('client-ec', w.ec, { claims: { exp: seconds(now) + 2 } });
}

function ecGrantAssertion(): string {
  const t = seconds(Date.now());
  return signJws(
    { alg: 'ES256', typ: 'JWT', kid: w.ec.kid },
    { iss: GRANT_ISSUER_EC, sub: 'load@example.test', aud: AS_ISSUER, iat: t, exp: t + 2, jti: randomUUID() },
    w.ec.privateKey,
  );
}

/** A cycle of valid and invalid requests (11 kinds). */
export function makeShots(): (i: number) => Shot {
  // Replays reuse a token the server has already accepted (not merely sent: with concurrent
  // workers the replay could otherwise arrive first).
  let accepted: string | undefined;
  const kinds: Array<() => Shot> = [
    () => {
      const token = ecClientAssertion();
      return {
        kind: 'valid client',
        path: '/client',
        body: clientForm(token),
        status: 200,
        after: (answer) => {
          if (answer.status === 200) accepted = token;
        },
      };
    },
    () =>
      accepted === undefined
        ? { kind: 'malformed', path: '/client', body: clientForm('not.a.jwt!'), status: 401, error: 'invalid_client' }
        : { kind: 'replayed client', path: '/client', body: clientForm(accepted), status: 401, error: 'invalid_client' },
    () => ({
      kind: 'valid grant',
      path: '/token',
      body: encodeForm({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: ecGrantAssertion() }),
      status: 200,
    }),
    () => {
      const token = ecClientAssertion();
      const bad = `${token.slice(0, -6)}${token.slice(-6, -5) === 'A' ? 'B' : 'A'}${token.slice(-5)}`;
      return { kind: 'bad signature', path: '/client', body: clientForm(bad), status: 401, error: 'invalid_client' };
    },
    () => ({ kind: 'malformed', path: '/client', body: clientForm('not.a.jwt!'), status: 401, error: 'invalid_client' }),
    () => ({
      kind: 'unknown client',
      path: '/client',
      body: clientForm(clientAssertionFor('nobody', w.ec)),
      status: 401,
      error: 'invalid_client',
    }),
    () => ({
      kind: 'json body',
      path: '/client',
      body: JSON.stringify({ client_assertion: 'x' }),
      contentType: 'application/json',
      status: 400,
      error: 'invalid_request',
    }),
    () => ({ kind: 'oversized body', path: '/client', body: `client_assertion=${'a'.repeat(BODY_LIMIT)}`, status: 400, error: 'invalid_request' }),
    () => ({
      kind: 'other grant type',
      path: '/token',
      body: encodeForm({ grant_type: 'password', username: 'u' }),
      status: 400,
      error: 'unsupported_grant_type',
    }),
    () => ({ kind: 'no client assertion', path: '/client', body: encodeForm({ client_id: 'client-ec' }), status: 401, error: 'invalid_client' }),
    () => ({
      kind: 'grant with client_secret_jwt',
      path: '/token',
      body: encodeForm({
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion: ecGrantAssertion(),
        client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE,
        client_assertion: clientAssertionFor('client-hs', HS_SECRET),
      }),
      status: 200,
    }),
  ];
  return (i) => kinds[i % kinds.length]!();
}

export interface RunStats {
  requests: number;
  unexpected: string[];
  byKind: Record<string, number>;
  slowestMs: number;
}

export async function drive(baseUrl: string, agent: http.Agent, untilMs: number, stats: RunStats, concurrency = CONCURRENCY): Promise<void> {
  const next = makeShots();
  let i = 0;
  const worker = async (offset: number) => {
    while (performance.now() < untilMs) {
      const shot = next(offset + concurrency * i++);
      let answer: Answer;
      try {
        answer = await rawRequest(baseUrl, {
          path: shot.path,
          headers: { 'content-type': shot.contentType ?? 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(shot.body)) },
          body: shot.body,
          agent,
          timeoutMs: 5000,
        });
      } catch (err) {
        stats.unexpected.push(`${shot.kind}: ${(err as Error).message}`);
        continue;
      }
      shot.after?.(answer);
      stats.requests += 1;
      stats.byKind[shot.kind] = (stats.byKind[shot.kind] ?? 0) + 1;
      stats.slowestMs = Math.max(stats.slowestMs, answer.ms);
      const wrong =
        answer.status !== shot.status
          ? `status ${answer.status}`
          : shot.error !== undefined
            ? (errorProblem(answer) ?? (answer.body.error !== shot.error ? `error ${answer.body.error}` : undefined))
            : undefined;
      if (wrong && stats.unexpected.length < 20) stats.unexpected.push(`${shot.kind}: ${wrong} ${answer.text.slice(0, 120)}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, k) => worker(k)));
}

/*
 * What every answer of the middleware must look like: an RFC 6749 §5.2 JSON error with a known
 * code, a fixed description and Cache-Control: no-store, or a success.
 */
import { ERROR_CODES, UNIFORM_CLIENT_DESCRIPTION } from 'jwt-bearer-core';

const STATUS_OF: Record<string, number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  invalid_scope: 400,
  unsupported_grant_type: 400,
  temporarily_unavailable: 503,
};

/** The `error` values an answer may carry: those whose status the oracle knows. */
export const KNOWN_ERRORS: ReadonlySet<string> = new Set(Object.keys(STATUS_OF));

/** The fixed public sentences: an `error_description` must be one of them (never echoed input). */
export const KNOWN_DESCRIPTIONS: ReadonlySet<string> = new Set([...Object.values(ERROR_CODES).map((c) => c.description), UNIFORM_CLIENT_DESCRIPTION]);

/** An HTTP (or core, through toErrorResponse) answer, normalised. */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or undefined when the body was not JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of any shape; each test asserts the fields it reads
  body: any;
  text: string;
  /** Milliseconds from sending to the complete answer. */
  ms: number;
}

/**
 * Why `answer` is not a well-formed RFC 6749 error of this library, or `undefined` when it is.
 * Used as a property in the fuzz suites and as an assertion elsewhere.
 */
export function errorProblem(answer: Answer): string | undefined {
  const { status, headers, body } = answer;
  if (![400, 401, 503].includes(status)) return `status ${status}`;
  const type = String(headers['content-type'] ?? '');
  if (!/^application\/json\b/i.test(type)) return `content-type ${JSON.stringify(type)}`;
  if (!/\bno-store\b/i.test(String(headers['cache-control'] ?? ''))) return `cache-control ${JSON.stringify(headers['cache-control'])}`;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return `body ${JSON.stringify(answer.text).slice(0, 200)}`;
  const keys = Object.keys(body).sort().join(',');
  if (keys !== 'error,error_description') return `body keys ${keys}`;
  if (!KNOWN_ERRORS.has(body.error)) return `error ${JSON.stringify(body.error)}`;
  if (!KNOWN_DESCRIPTIONS.has(body.error_description)) return `error_description ${JSON.stringify(body.error_description)}`;
  if (STATUS_OF[body.error] !== status) return `status ${status} for ${body.error}`;
  return undefined;
}

/** Asserts a well-formed error, optionally of a given `error` (and its status). */
export function expectOAuthError(answer: Answer, error?: string): void {
  const problem = errorProblem(answer);
  if (problem !== undefined) {
    throw new Error(`not a well-formed OAuth error (${problem}): ${answer.status} ${answer.text.slice(0, 300)}`);
  }
  if (error !== undefined && answer.body.error !== error) {
    throw new Error(`expected error ${error}, got ${answer.status} ${answer.text.slice(0, 300)}`);
  }
}

/** Asserts a success answer and returns its body. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the parsed JSON body, as Answer.body
export function expectSuccess(answer: Answer): any {
  if (answer.status !== 200) throw new Error(`expected success, got ${answer.status} ${answer.text.slice(0, 300)}`);
  return answer.body;
}

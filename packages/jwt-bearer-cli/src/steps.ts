import type { ErrorCode } from 'jwt-bearer-core';

/** The steps of verification, in the order the middleware runs them (RFC 7521 §4, RFC 7523 §3). */
export const STEPS = [
  { step: 1, name: 'request shape' },
  { step: 2, name: 'header' },
  { step: 3, name: 'trust' },
  { step: 4, name: 'key and signature' },
  { step: 5, name: 'claims' },
  { step: 6, name: 'replay' },
  { step: 7, name: 'principal' },
] as const;

export type StepNumber = (typeof STEPS)[number]['step'];

/** One judged rule, or one step of a check. */
export interface Finding {
  step: StepNumber;
  /** What was judged, e.g. `exp not past`. */
  rule: string;
  /** `fail` refuses; `warn` is accepted but worth a look; `skip` cannot be judged here. */
  result: 'pass' | 'fail' | 'warn' | 'skip';
  /** The error code the middleware answers with, for a `fail`. */
  code?: ErrorCode;
  /** Why: the middleware's private detail for a `fail`, or a note. */
  detail?: string;
}

/** Which step refuses with `code` (codes added later fall into "claims" unless their name says more). */
export function stepOf(code: string): StepNumber {
  if (/REPLAY/.test(code)) return 6;
  if (/SIGNATURE|KEY_|_KEY/.test(code)) return 4;
  if (/UNKNOWN|UNTRUSTED|LOOKUP|CLIENT_AUTH_REQUIRED/.test(code)) return 3;
  if (/ALGORITHM|CRIT|TYPE_INVALID|MALFORMED/.test(code)) return 2;
  if (/BODY|PARAMETER|CONTENT_TYPE|GRANT_TYPE|ASSERTION_MISSING|ASSERTION_TYPE|MULTIPLE_CLIENT_AUTH|CLIENT_ID_MISMATCH|TOO_LONG/.test(code)) return 1;
  return 5;
}

const MARK = { pass: 'pass', fail: 'FAIL', warn: 'warn', skip: 'skip' } as const;

/** Human lines: one per finding, grouped under their step. */
export function formatFindings(findings: readonly Finding[]): string {
  const lines: string[] = [];
  for (const { step, name } of STEPS) {
    const own = findings.filter((f) => f.step === step);
    if (own.length === 0) continue;
    const why = (f: Finding) => {
      const text = [f.code, f.detail].filter(Boolean).join(': ');
      return text ? `  (${text})` : '';
    };
    // A step judged as a whole (check): one line.
    if (own.length === 1 && own[0]!.rule === name) {
      lines.push(`${step}. ${name.padEnd(18)} ${MARK[own[0]!.result]}${why(own[0]!)}`);
      continue;
    }
    lines.push(`${step}. ${name}`);
    for (const f of own) lines.push(`   ${MARK[f.result]}  ${f.rule}${why(f)}`);
  }
  return `${lines.join('\n')}\n`;
}

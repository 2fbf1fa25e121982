import type { AssertionUse, OAuthError } from '../errors';

/** Longest `detail` quoted in a log line, in characters. */
const MAX_DETAIL = 300;
/** Most causes remembered; past it the memory starts over (at worst one more line per cause). */
const MAX_CAUSES = 256;

/**
 * The line a 5xx leaves on `console.error` when the operator set no `onError` hook: a wrong
 * `jwksUri`, an unreachable replay store or a failing lookup must not be silent. One line per
 * cause per interval, not per request: a cause is the error code and, where the detail names
 * one, the URL that failed (the JWKS URI), so a dead key set logs once a minute however many
 * requests it fails.
 */
export class FaultLog {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly intervalMs = 60_000,
    private readonly now: () => number = Date.now,
    private readonly write: (line: string) => void = (line) => console.error(line),
  ) {}

  /** Logs `error` if it is a 5xx whose cause was not logged within the interval. */
  log(error: OAuthError, use: AssertionUse): void {
    if (error.status < 500) return;
    const key = causeKey(error);
    const t = this.now();
    const previous = this.last.get(key);
    if (previous !== undefined && t - previous < this.intervalMs) return;
    if (this.last.size >= MAX_CAUSES) this.last.clear();
    this.last.set(key, t);
    this.write(
      `jwt-bearer: ${error.status} ${error.code} (${use === 'grant' ? 'grant' : 'client assertion'}): ${printable(error.detail ?? error.description)}` +
        ` [logged at most once a minute per cause; set onError to handle these yourself]`,
    );
  }
}

/** The code, and the URL the detail starts with (`https://idp.example/jwks: timeout` → that URI). */
function causeKey(error: OAuthError): string {
  const url = /^(https?:\/\/\S+?):\s/.exec(error.detail ?? '');
  return url ? `${error.code} ${url[1]}` : error.code;
}

/** The detail on one line, bounded: it may quote what a remote server or a client sent. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ');
  return flat.length > MAX_DETAIL ? `${flat.slice(0, MAX_DETAIL)}…` : flat;
}

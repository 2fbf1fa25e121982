/** An assertion decoded without any verification, for `inspect` and for labelling `check`. */
export interface Decoded {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  /** The number of dot-separated segments (a compact JWS has 3). */
  segments: number;
}

function part(segment: string | undefined): Record<string, unknown> | undefined {
  if (segment === undefined || !/^[A-Za-z0-9_-]+$/.test(segment)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Decodes header and claims, or `undefined` when either is not a base64url JSON object. */
export function decode(token: string): Decoded | undefined {
  const segments = token.split('.');
  const header = part(segments[0]);
  const claims = part(segments[1]);
  return header && claims ? { header, claims, segments: segments.length } : undefined;
}

/** A NumericDate (RFC 7519 §2) as UTC ISO 8601, or `undefined` for anything else. */
export function utc(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > 8.64e12) return undefined;
  return new Date(value * 1000).toISOString().replace('.000Z', 'Z');
}

/** `in 5 min 3 s` / `2 h 1 min ago` / `now`, relative to `now` (seconds). */
export function relative(value: number, now: number): string {
  const delta = Math.round(value - now);
  if (delta === 0) return 'now';
  let rest = Math.abs(delta);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['min', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size && parts.length < 2) {
      parts.push(`${Math.floor(rest / size)} ${unit}`);
      rest %= size;
    }
  }
  return delta > 0 ? `in ${parts.join(' ')}` : `${parts.join(' ')} ago`;
}

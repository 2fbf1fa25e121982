/**
 * The URL rule for every URL the operator configures (`jwksUri`, discovery documents, SPIFFE
 * bundle endpoints): `https:`, or `http:` to a loopback host only, for development and tests.
 */

/** Whether `hostname` (as `URL.hostname` gives it) names the loopback interface. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/**
 * Parses a configured URL; throws a `TypeError` naming `option` unless it is an absolute `https:`
 * URL, or an `http:` URL to a loopback host.
 */
export function configuredUrl(value: unknown, option: string): URL {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`jwt-bearer: option "${option}" must be a non-empty URL string`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`jwt-bearer: option "${option}" is not a valid URL`);
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname))) return url;
  throw new TypeError(`jwt-bearer: option "${option}" must be an https: URL (http: only to a loopback host)`);
}

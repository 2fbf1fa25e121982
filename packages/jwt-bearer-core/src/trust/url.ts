/**
 * URLs the operator configures (`jwksUri`, discovery documents, bundle endpoints): `https:`, or
 * `http:` to a loopback host only, for development and tests. Checked at configuration time, so a
 * key URL that could be read or rewritten on the network is a startup error, not the first
 * request's failure.
 */

/** Whether `hostname` (as `URL` gives it) is a loopback host: 127.0.0.0/8, `[::1]` or `localhost`. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || host === '[::1]') return true;
  // WHATWG URL parsing has already normalised IPv4 forms (decimal, hex, short) to dotted quads.
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Parses a configured URL and checks its scheme: `https:`, or `http:` to a loopback host.
 * Anything else (another scheme, `http:` to any other host, credentials in the URL, not a URL at
 * all) throws a `TypeError` naming `option`.
 *
 * @param value - the configured value, unchecked
 * @param option - the option's name as the operator wrote it, e.g. `clients[2].jwksUri`
 */
export function configuredUrl(value: unknown, option: string): URL {
  const must = 'must be an https: URL (or http: to a loopback host, for development)';
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`jwt-bearer: option "${option}" ${must}`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`jwt-bearer: option "${option}" ${must}; it is not a URL`);
  }
  if (url.username !== '' || url.password !== '') throw new TypeError(`jwt-bearer: option "${option}" must not carry credentials`);
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url;
  throw new TypeError(
    `jwt-bearer: option "${option}" ${must}; ${url.protocol === 'http:' ? `http: to ${url.hostname} is not loopback` : `scheme ${url.protocol} is not accepted`}`,
  );
}

import { promises as dns } from 'node:dns';
import * as http from 'node:http';
import * as https from 'node:https';
import { BlockList, isIP } from 'node:net';

/**
 * The HTTP GET every key source of this folder uses (discovery documents, client ID metadata
 * documents, SPIFFE bundles, JWK Sets): JSON only, 200 only, never a redirect, a deadline on the
 * whole exchange (not only socket idleness, so a server that drips a byte a second still fails)
 * and a cap on the body, so no endpoint can hold a request or memory hostage. With a
 * `guard`, the host is resolved first and every address it resolves to must be a public one
 * (RFC 6890 special-use addresses refused), and the connection goes to the very address that
 * was checked: no second resolution a rebinding name server could answer differently.
 */

/** One resolved address. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to all its addresses, like `dns.promises.lookup(host, { all: true })`. */
export type Lookup = (hostname: string) => Promise<ResolvedAddress[]>;

/** Why a fetch failed: `address` when the guard refused the host before any connection. */
export type FetchFailure = 'address' | 'status' | 'size' | 'timeout' | 'network' | 'type' | 'json' | 'url';

export class FetchError extends Error {
  override name = 'FetchError';
  constructor(
    message: string,
    readonly reason: FetchFailure,
  ) {
    super(message);
  }
}

export interface FetchOptions {
  /** Milliseconds for the whole exchange. */
  timeout: number;
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** `http.Agent` / `https.Agent` (custom CAs, proxies). */
  agent?: unknown;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** `Accept` header. */
  accept?: string;
  /** Resolve and check the address before connecting (URLs a client chose). */
  guard?: { lookup: Lookup; allowPrivateNetwork: boolean };
  /**
   * Accept any 2xx status and any content type (a configured JWK Set URI: jwks-rsa never checked
   * either, and key set endpoints answer `text/plain` or 203 in the wild). Default: exactly 200
   * with a JSON media type, as the metadata specifications require.
   */
  lenient?: boolean;
}

export interface FetchedJson {
  body: unknown;
  headers: http.IncomingHttpHeaders;
}

// RFC 6890 (and its updates in the IANA special-purpose registries): nothing a public document
// may live at. IPv4-mapped, NAT64 and 6to4 / Teredo addresses embed IPv4 addresses and are
// refused as a whole rather than decoded.
const SPECIAL_USE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  SPECIAL_USE.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  SPECIAL_USE.addSubnet(net, prefix, 'ipv6');
}

/** Whether `address` (an IP literal) is a special-use address (RFC 6890): private, loopback, link-local, unspecified, mapped… */
export function isSpecialUseAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  // IPv4-mapped (::ffff:0:0/96) by its spelling: BlockList matches an IPv6 rule for that prefix
  // against every IPv4 address too.
  if (family === 6 && /^::ffff:/i.test(address)) return true;
  return SPECIAL_USE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** The system resolver: every address of the name, in the resolver's order. */
export const systemLookup: Lookup = async (hostname) => {
  const found = await dns.lookup(hostname, { all: true, verbatim: true });
  return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/** Resolves `url`'s host and checks the addresses; returns the one to connect to. */
async function checkedAddress(url: URL, guard: NonNullable<FetchOptions['guard']>): Promise<ResolvedAddress> {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const literal = isIP(host);
  let addresses: ResolvedAddress[];
  if (literal !== 0) {
    addresses = [{ address: host, family: literal === 6 ? 6 : 4 }];
  } else {
    try {
      addresses = await guard.lookup(host);
    } catch (err) {
      throw new FetchError(`cannot resolve ${host}: ${(err as Error)?.message ?? String(err)}`, 'network');
    }
    if (!Array.isArray(addresses) || addresses.length === 0) throw new FetchError(`${host} resolves to no address`, 'network');
  }
  if (!guard.allowPrivateNetwork) {
    // Every address, not only the first: a name that also resolves to an internal address is refused.
    const special = addresses.find((a) => isSpecialUseAddress(a.address));
    if (special) throw new FetchError(`${host} resolves to special-use address ${special.address}`, 'address');
  }
  return addresses[0]!;
}

function isJsonType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.!#$&^_-]+\+json$/.test(type);
}

/** GETs `uri` and parses its JSON body under the rules above. Rejects with a {@link FetchError}. */
export async function fetchJson(uri: string, options: FetchOptions): Promise<FetchedJson> {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new FetchError('not a URL', 'url');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new FetchError(`scheme ${url.protocol} is not fetched`, 'url');
  const deadline = Date.now() + options.timeout;
  let pinned: ResolvedAddress | undefined;
  if (options.guard) {
    pinned = await withDeadline(checkedAddress(url, options.guard), options.timeout);
  }
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    let done = false;
    const requestOptions: https.RequestOptions = {
      headers: { accept: options.accept ?? 'application/json', ...options.headers },
      // Without an agent of the operator's, a fresh connection per fetch: fetches are rare (cached), and
      // a kept-alive socket the server has meanwhile closed would fail the next fetch (ECONNRESET).
      agent: options.agent ? (options.agent as http.Agent) : false,
    };
    if (pinned) {
      const { address, family } = pinned;
      // The socket connects to the checked address; TLS still verifies the certificate for the host name.
      requestOptions.lookup = ((_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) => {
        if (opts?.all) cb(null, [{ address, family }]);
        else cb(null, address, family);
      }) as never;
    }
    const req = lib.get(url, requestOptions, (res) => {
      const status = res.statusCode ?? 0;
      // Exactly 200 (RFC 8414 §3.2, OpenID Connect Discovery §4.2, the metadata document draft §4):
      // a redirect is an answer, never followed.
      if (options.lenient ? status < 200 || status >= 300 : status !== 200) return fail(new FetchError(`answered HTTP ${status}`, 'status'));
      if (!options.lenient && !isJsonType(res.headers['content-type']))
        return fail(new FetchError(`content type ${JSON.stringify(String(res.headers['content-type']).slice(0, 64))} is not JSON`, 'type'));
      const length = Number(res.headers['content-length']);
      if (Number.isFinite(length) && length > options.maxBytes) return fail(new FetchError(`body of ${length} bytes exceeds ${options.maxBytes}`, 'size'));
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBytes) return fail(new FetchError(`body exceeds ${options.maxBytes} bytes`, 'size'));
        chunks.push(chunk);
      });
      res.on('end', () => {
        if (done) return;
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          return fail(new FetchError('body is not JSON', 'json'));
        }
        finish();
        resolve({ body, headers: res.headers });
      });
      res.on('error', (err) => fail(new FetchError(err.message, 'network')));
    });
    const timer = setTimeout(() => fail(new FetchError(`took longer than ${options.timeout} ms`, 'timeout')), Math.max(1, deadline - Date.now()));
    timer.unref();
    function finish(): void {
      done = true;
      clearTimeout(timer);
    }
    function fail(err: FetchError): void {
      if (done) return;
      finish();
      req.destroy();
      reject(err);
    }
    req.on('error', (err) => fail(new FetchError(err.message, 'network')));
  });
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FetchError(`name resolution took longer than ${ms} ms`, 'timeout')), ms);
    timer.unref();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Interop with Microsoft's @azure/msal-node 7 (ConfidentialClientApplication with a certificate,
 * the client credentials flow), unmodified, against both example apps over real HTTP.
 *
 * What it sends (src/client/ClientAssertion.ts, checked below on the wire): header
 * `{ alg: PS256, x5t#S256, x5c? }` with `thumbprintSha256`, `{ alg: RS256, x5t, x5c? }` with the
 * SHA-1 `thumbprint`, never a `kid`; claims iss = sub = client_id, aud = the authority's **token
 * endpoint URL**, nbf, iat (added by jsonwebtoken), exp = nbf + 600 and a GUID `jti`. MSAL keeps
 * that assertion and sends it again, same `jti`, on every token request of the next 600 s (its
 * `getJwt` re-signs only once it expired). Entra ID accepts the reuse; here the client needs:
 *
 * - `audienceMode: 'legacy'` with the token endpoint URL in `audiences` (the aud it sends);
 * - `allowReuse: true` on its registration (the second request re-sends the first one's jti);
 * - `maxLifetime: 600` on its registration (after 300 s the cached assertion is older than the
 *   client-authentication default, RFC 10070 and DESIGN §8).
 *
 * Pointing it at 127.0.0.1: MSAL refuses an authority that is not https (msal-common
 * UrlString.validateAsUri), but with `knownAuthorities` and `authorityMetadata` (the authority's
 * OpenID configuration, given inline) it fetches nothing from the authority; the token endpoint
 * named in that metadata is the example's plain-http one on 127.0.0.1. No network, no patch.
 *
 * The server's clock is advanced through the middleware's `now` option: MSAL's own clock stays
 * real, so it re-sends its cached assertion while the server sees that assertion age past 300 s.
 */
import { ConfidentialClientApplication, type AuthenticationResult } from '@azure/msal-node';
import type { ClientRegistration } from 'jwt-bearer-core';
import {
  advancedClock,
  certificateRegistration,
  decodeJwt,
  FRAMEWORKS,
  selfSignedCertificate,
  startWithRegistrations,
  type Example,
  type Framework,
  type TestCertificate,
} from './helpers';

// Real client libraries with RSA keys over HTTP: slower than Jest's default 5 s on a loaded machine.
jest.setTimeout(30_000);

const certificate: TestCertificate = selfSignedCertificate('msal-node interop client');

/** Every form body sent to a token endpoint, recorded by a pass-through spy on the global fetch MSAL uses. */
const sent: URLSearchParams[] = [];
beforeEach(() => {
  sent.length = 0;
  const realFetch = globalThis.fetch;
  jest.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
    if (typeof init?.body === 'string') sent.push(new URLSearchParams(init.body));
    return realFetch(input, init);
  });
});
afterEach(() => jest.restoreAllMocks());

/** The client_assertion values MSAL sent, in order. */
const assertionsSent = () => sent.map((form) => form.get('client_assertion'));

/**
 * Starts the example in legacy audience mode with its token endpoint URL in `audiences` (or in
 * the strict default), `clients` registered, and a clock the test advances.
 */
async function startForMsal(framework: Framework, clients: ClientRegistration[], options: { strict?: boolean } = {}) {
  const clock = advancedClock();
  const example = await startWithRegistrations(framework, clients, options.strict ? 'strict' : 'legacy', { now: clock.now });
  return { example, clock };
}

/** A ConfidentialClientApplication for `clientId`, whose authority is described inline and whose token endpoint is the example's. */
function msalClient(example: Example, clientId: string, thumbprint: 'sha256' | 'sha1' = 'sha256'): ConfidentialClientApplication {
  // An https authority on the example's own address, which MSAL accepts; nothing is ever fetched
  // from it (authorityMetadata is given).
  const authority = `https://${new URL(example.url).host}/${clientId}-tenant`;
  return new ConfidentialClientApplication({
    auth: {
      clientId,
      authority,
      knownAuthorities: [new URL(example.url).host],
      authorityMetadata: JSON.stringify({
        issuer: example.issuer,
        token_endpoint: example.tokenEndpoint,
        authorization_endpoint: `${example.issuer}/authorize`,
        end_session_endpoint: `${example.issuer}/logout`,
        jwks_uri: example.as.jwksUri,
      }),
      clientCertificate: {
        ...(thumbprint === 'sha256' ? { thumbprintSha256: certificate.thumbprintSha256 } : { thumbprint: certificate.thumbprint }),
        privateKey: certificate.privateKey,
        x5c: certificate.certificate,
      },
    },
  });
}

/** One client credentials request; `skipCache` so that every call reaches the token endpoint (MSAL caches access tokens too). */
async function requestToken(app: ConfidentialClientApplication): Promise<AuthenticationResult> {
  const result = await app.acquireTokenByClientCredential({ scopes: ['read'], skipCache: true });
  expect(result).not.toBeNull();
  return result!;
}

/** MSAL's ServerError for a refused request: the OAuth error code as `errorCode`. */
async function expectRefused(promise: Promise<unknown>): Promise<void> {
  await expect(promise).rejects.toMatchObject({ name: 'ServerError', errorCode: 'invalid_client' });
}

describe.each(FRAMEWORKS)('@azure/msal-node ConfidentialClientApplication against the %s example', (framework) => {
  test('three requests with one cached assertion across the 300 s mark: accepted with allowReuse and maxLifetime 600', async () => {
    const clientId = 'msal-reuse';
    const { example, clock } = await startForMsal(framework, [certificateRegistration(clientId, certificate, { allowReuse: true, maxLifetime: 600 })]);
    try {
      const app = msalClient(example, clientId);
      const first = await requestToken(app);
      clock.advance(120);
      const second = await requestToken(app);
      clock.advance(280); // the server now sees the assertion 400 s old: past 300 s (+30 s tolerance)
      const third = await requestToken(app);

      const tokens = [first, second, third].map((r) => r.accessToken);
      expect(new Set(tokens).size).toBe(3);
      for (const token of tokens) {
        expect(example.as.lookup(token)).toMatchObject({
          grant_type: 'client_credentials',
          client_id: clientId,
          client_auth: { method: 'private_key_jwt', alg: 'PS256' },
        });
      }

      // One assertion, three times: what MSAL signs and caches.
      const assertions = assertionsSent();
      expect(assertions).toHaveLength(3);
      expect(new Set(assertions).size).toBe(1);
      const { header, claims } = decodeJwt(assertions[0]!);
      expect(header).toMatchObject({
        alg: 'PS256',
        'x5t#S256': Buffer.from(certificate.thumbprintSha256, 'hex').toString('base64url'),
        x5c: [certificate.der],
      });
      expect(header.kid).toBeUndefined();
      expect(claims).toMatchObject({ iss: clientId, sub: clientId, aud: example.tokenEndpoint });
      // exp = nbf + 600 (MSAL's rounded clock); iat is jsonwebtoken's own, floored, reading: within a second of nbf.
      expect((claims.exp as number) - (claims.nbf as number)).toBe(600);
      expect(Math.abs((claims.iat as number) - (claims.nbf as number))).toBeLessThanOrEqual(1);
      expect(typeof claims.jti).toBe('string');
      expect(example.logs.some((l) => l.includes('WARN_LEGACY_AUDIENCE') && l.includes(clientId))).toBe(true);
    } finally {
      await example.close();
    }
  });

  test('without allowReuse the second request, which re-sends the cached assertion, is refused as a replay: 401 invalid_client', async () => {
    const clientId = 'msal-no-reuse';
    const { example, clock } = await startForMsal(framework, [certificateRegistration(clientId, certificate)]);
    try {
      const app = msalClient(example, clientId);
      const first = await requestToken(app);
      expect(example.as.lookup(first.accessToken)).toMatchObject({ client_id: clientId });
      clock.advance(120);
      await expectRefused(requestToken(app));
      clock.advance(280);
      await expectRefused(requestToken(app));
      expect(new Set(assertionsSent()).size).toBe(1);
      // The onError detail names the option that would accept this client's habit.
      expect(example.logs.filter((l) => l.includes('ERR_ASSERTION_REPLAYED') && l.includes(clientId) && l.includes('allowReuse'))).toHaveLength(1);
      expect(example.logs.filter((l) => l.includes('ERR_ASSERTION_LIFETIME_EXCEEDED') && l.includes(clientId) && l.includes('maxLifetime'))).toHaveLength(1);
    } finally {
      await example.close();
    }
  });

  test('allowReuse without maxLifetime: accepted until the cached assertion is 300 s old, refused after', async () => {
    const clientId = 'msal-reuse-300';
    const { example, clock } = await startForMsal(framework, [certificateRegistration(clientId, certificate, { allowReuse: true })]);
    try {
      const app = msalClient(example, clientId);
      await requestToken(app);
      clock.advance(120);
      await requestToken(app);
      clock.advance(280);
      await expectRefused(requestToken(app));
      expect(new Set(assertionsSent()).size).toBe(1);
      expect(example.logs.some((l) => l.includes('ERR_ASSERTION_LIFETIME_EXCEEDED') && l.includes(clientId))).toBe(true);
    } finally {
      await example.close();
    }
  });

  test('the SHA-1 thumbprint (x5t, RS256) finds the registered certificate too', async () => {
    const clientId = 'msal-sha1';
    const { example } = await startForMsal(framework, [certificateRegistration(clientId, certificate, { allowReuse: true, maxLifetime: 600 })]);
    try {
      const result = await requestToken(msalClient(example, clientId, 'sha1'));
      expect(example.as.lookup(result.accessToken)).toMatchObject({ client_id: clientId, client_auth: { method: 'private_key_jwt', alg: 'RS256' } });
      const { header } = decodeJwt(assertionsSent()[0]!);
      expect(header).toMatchObject({ alg: 'RS256', x5t: Buffer.from(certificate.thumbprint, 'hex').toString('base64url') });
    } finally {
      await example.close();
    }
  });

  test('in the strict audience mode (the default) its token-endpoint aud is refused: 401 invalid_client', async () => {
    const clientId = 'msal-strict';
    const { example } = await startForMsal(framework, [certificateRegistration(clientId, certificate, { allowReuse: true, maxLifetime: 600 })], {
      strict: true,
    });
    try {
      await expectRefused(requestToken(msalClient(example, clientId)));
      expect(example.logs.some((l) => l.includes('ERR_AUDIENCE_INVALID') && l.includes(clientId) && l.includes('audienceMode "legacy"'))).toBe(true);
    } finally {
      await example.close();
    }
  });
});

import {
  createAssertion,
  createClientAuthenticator,
  JWT_BEARER_CLIENT_ASSERTION_TYPE,
  type ClientAuthenticator,
  type ClientAuthenticatorOptions,
  type OAuthError,
  type WarningEvent,
} from '../src';
import {
  CLIENT_ASSERTION_TYPE,
  CLIENT_ID,
  clientClaims,
  clientRequest,
  expectRejected,
  ISSUER,
  rsaKeyPair,
  secret,
  signJws,
  TOKEN_ENDPOINT,
  type TestKeyPair,
} from './helpers';

let rsa: TestKeyPair;
let other: TestKeyPair;
let hmac: string;
let strict: ClientAuthenticator;

beforeAll(() => {
  rsa = rsaKeyPair();
  other = rsaKeyPair();
  hmac = secret(32);
  strict = make();
});

function make(extra: Partial<ClientAuthenticatorOptions> = {}): ClientAuthenticator {
  return createClientAuthenticator({
    issuer: ISSUER,
    audiences: [TOKEN_ENDPOINT],
    clients: [
      { clientId: CLIENT_ID, publicKey: rsa.publicPem },
      { clientId: 'secret-client', clientSecret: hmac },
    ],
    ...extra,
  });
}

const sign = (overrides: Record<string, unknown> = {}, header: Record<string, unknown> = { alg: 'RS256', typ: 'JWT' }) =>
  signJws(header, clientClaims(overrides), rsa.privateKey);
const auth = (overrides: Record<string, unknown> = {}, authenticator = strict) => authenticator.authenticate(clientRequest(sign(overrides)));

describe('a valid client assertion (RFC 7523 §2.2)', () => {
  it('resolves the principal: clientId, method private_key_jwt, claims, header', async () => {
    const principal = await strict.authenticate(clientRequest(sign({ custom: 1 })));
    expect(principal).toEqual({
      clientId: CLIENT_ID,
      method: 'private_key_jwt',
      claims: expect.objectContaining({ iss: CLIENT_ID, sub: CLIENT_ID, aud: ISSUER, custom: 1 }),
      header: { alg: 'RS256', typ: 'JWT' },
    });
  });

  it('uses JWT_BEARER_CLIENT_ASSERTION_TYPE as client_assertion_type', () => {
    expect(JWT_BEARER_CLIENT_ASSERTION_TYPE).toBe(CLIENT_ASSERTION_TYPE);
  });

  it('reports client_secret_jwt for a client registered with a secret', async () => {
    const token = createAssertion({ issuer: 'secret-client', subject: 'secret-client', audience: ISSUER, key: hmac });
    await expect(strict.authenticate(clientRequest(token))).resolves.toMatchObject({ clientId: 'secret-client', method: 'client_secret_jwt' });
  });

  it('accepts what createAssertion signs with defaults (RS256, typ JWT, jti, 60 s)', async () => {
    const token = createAssertion({ issuer: CLIENT_ID, subject: CLIENT_ID, audience: ISSUER, key: rsa.privatePem });
    await expect(strict.authenticate(clientRequest(token))).resolves.toMatchObject({ clientId: CLIENT_ID });
  });
});

describe('issuer, subject and client (RFC 7523 §3 items 1-2, RFC 7521 §5.2)', () => {
  it('RFC 7523 §3 item 2: the subject is the client_id: an unknown client is 401 invalid_client ERR_CLIENT_UNKNOWN', async () => {
    await expectRejected(auth({ iss: 'nobody', sub: 'nobody' }), 'ERR_CLIENT_UNKNOWN', 'invalid_client', 401);
  });

  it('OpenID Connect Core §9: iss must equal sub (ERR_ISSUER_MISMATCH)', async () => {
    await expectRejected(auth({ iss: 'secret-client' }), 'ERR_ISSUER_MISMATCH', 'invalid_client', 401);
    await expectRejected(auth({ iss: `${CLIENT_ID} ` }), 'ERR_ISSUER_MISMATCH');
  });

  it('RFC 7523 §3 item 9: refuses an assertion signed by a key the client does not hold', async () => {
    await expectRejected(
      strict.authenticate(clientRequest(signJws({ alg: 'RS256' }, clientClaims(), other.privateKey))),
      'ERR_SIGNATURE_INVALID',
      'invalid_client',
      401,
    );
  });

  it('RFC 7521 §4.2: a client_id parameter equal to sub is accepted, another is refused before any key work', async () => {
    await expect(strict.authenticate(clientRequest(sign(), { client_id: CLIENT_ID }))).resolves.toBeDefined();
    await expectRejected(strict.authenticate(clientRequest(sign(), { client_id: 'secret-client' })), 'ERR_CLIENT_ID_MISMATCH', 'invalid_request', 400);
  });
});

describe('audience of a client assertion, strict mode (RFC 10070: the issuer identifier as sole value)', () => {
  it('RFC 10070: accepts aud equal to the issuer, as a string or a one-element array', async () => {
    await expect(auth({ aud: ISSUER })).resolves.toBeDefined();
    await expect(auth({ aud: [ISSUER] })).resolves.toBeDefined();
  });

  it('RFC 10070: refuses the token endpoint URL as aud, even when it is one of the configured audiences', async () => {
    await expectRejected(auth({ aud: TOKEN_ENDPOINT }), 'ERR_AUDIENCE_INVALID', 'invalid_client', 401);
    await expectRejected(auth({ aud: [TOKEN_ENDPOINT] }), 'ERR_AUDIENCE_INVALID');
  });

  it('RFC 10070: refuses aud with the issuer plus any extra value (audience injection)', async () => {
    await expectRejected(auth({ aud: [ISSUER, TOKEN_ENDPOINT] }), 'ERR_AUDIENCE_INVALID', 'invalid_client', 401);
    await expectRejected(auth({ aud: [ISSUER, 'https://attacker.example'] }), 'ERR_AUDIENCE_INVALID');
    await expectRejected(auth({ aud: ['https://attacker.example', ISSUER] }), 'ERR_AUDIENCE_INVALID');
    await expectRejected(auth({ aud: [ISSUER, ISSUER] }), 'ERR_AUDIENCE_INVALID');
  });

  it('RFC 7523 §3 item 3: refuses an aud that does not name this server', async () => {
    await expectRejected(auth({ aud: 'https://other-as.example' }), 'ERR_AUDIENCE_INVALID');
  });

  it('RFC 10070 (RFC 3986 §6.2.1): exact string comparison: no trailing-slash or case folding', async () => {
    await expectRejected(auth({ aud: `${ISSUER}/` }), 'ERR_AUDIENCE_INVALID');
    await expectRejected(auth({ aud: ISSUER.toUpperCase() }), 'ERR_AUDIENCE_INVALID');
    await expectRejected(auth({ aud: 'https://AS.example.com' }), 'ERR_AUDIENCE_INVALID');
    const slashIssuer = createClientAuthenticator({ issuer: `${ISSUER}/`, clients: [{ clientId: CLIENT_ID, publicKey: rsa.publicPem }] });
    await expectRejected(auth({ aud: ISSUER }, slashIssuer), 'ERR_AUDIENCE_INVALID');
    await expect(auth({ aud: `${ISSUER}/` }, slashIssuer)).resolves.toBeDefined();
  });

  it('RFC 7523 §3 item 3: refuses an assertion without aud (ERR_CLAIM_MISSING)', async () => {
    await expectRejected(auth({ aud: undefined }), 'ERR_CLAIM_MISSING', 'invalid_client', 401);
  });

  it('RFC 7519 §4.1.3: refuses an aud that is not a string or a non-empty array of strings', async () => {
    await expectRejected(auth({ aud: [] }), 'ERR_CLAIM_INVALID');
    await expectRejected(auth({ aud: 1 }), 'ERR_CLAIM_INVALID');
    await expectRejected(auth({ aud: [ISSUER, null] }), 'ERR_CLAIM_INVALID');
  });

  it('strict is the default audienceMode, and does not call onWarning', async () => {
    const warnings: WarningEvent[] = [];
    const a = make({ audienceMode: 'strict', onWarning: (w) => warnings.push(w) });
    await expectRejected(auth({ aud: TOKEN_ENDPOINT }, a), 'ERR_AUDIENCE_INVALID');
    await expect(auth({ aud: ISSUER }, a)).resolves.toBeDefined();
    expect(warnings).toEqual([]);
  });
});

describe("audience of a client assertion, audienceMode: 'legacy'", () => {
  it('accepts a configured audience (the token endpoint URL) and reports WARN_LEGACY_AUDIENCE through onWarning', async () => {
    const warnings: WarningEvent[] = [];
    const legacy = make({ audienceMode: 'legacy', onWarning: (w) => warnings.push(w) });
    await expect(auth({ aud: TOKEN_ENDPOINT }, legacy)).resolves.toMatchObject({ clientId: CLIENT_ID });
    expect(warnings).toEqual([
      {
        code: 'WARN_LEGACY_AUDIENCE',
        detail: expect.stringContaining(TOKEN_ENDPOINT),
        use: 'client',
        issuer: CLIENT_ID,
        subject: CLIENT_ID,
        clientId: CLIENT_ID,
      },
    ]);
    await expect(auth({ aud: [ISSUER, TOKEN_ENDPOINT] }, legacy)).resolves.toBeDefined();
    expect(warnings).toHaveLength(2);
  });

  it('does not warn for an aud that strict mode accepts', async () => {
    const warnings: WarningEvent[] = [];
    const legacy = make({ audienceMode: 'legacy', onWarning: (w) => warnings.push(w) });
    await expect(auth({ aud: ISSUER }, legacy)).resolves.toBeDefined();
    await expect(auth({ aud: [ISSUER] }, legacy)).resolves.toBeDefined();
    expect(warnings).toEqual([]);
  });

  it('RFC 10070, issue 13: every aud value must be the issuer or a configured audience: [issuer, foreign] is refused', async () => {
    const warnings: WarningEvent[] = [];
    const legacy = make({ audienceMode: 'legacy', onWarning: (w) => warnings.push(w) });
    await expectRejected(auth({ aud: [ISSUER, 'https://other.example'] }, legacy), 'ERR_AUDIENCE_INVALID', 'invalid_client', 401);
    await expectRejected(auth({ aud: [TOKEN_ENDPOINT, 'https://other.example'] }, legacy), 'ERR_AUDIENCE_INVALID');
    await expectRejected(auth({ aud: ['https://other.example', ISSUER, TOKEN_ENDPOINT] }, legacy), 'ERR_AUDIENCE_INVALID');
    expect(warnings).toEqual([]);
  });

  it('still refuses an aud that names neither the issuer nor a configured audience', async () => {
    const legacy = make({ audienceMode: 'legacy', onWarning: () => undefined });
    await expectRejected(auth({ aud: 'https://attacker.example' }, legacy), 'ERR_AUDIENCE_INVALID', 'invalid_client');
    await expectRejected(auth({ aud: `${TOKEN_ENDPOINT}/` }, legacy), 'ERR_AUDIENCE_INVALID');
    const noAudiences = createClientAuthenticator({ issuer: ISSUER, audienceMode: 'legacy', clients: [{ clientId: CLIENT_ID, publicKey: rsa.publicPem }] });
    await expectRejected(auth({ aud: TOKEN_ENDPOINT }, noAudiences), 'ERR_AUDIENCE_INVALID');
  });

  it('works without onWarning, and an onWarning that throws does not change the answer', async () => {
    await expect(auth({ aud: TOKEN_ENDPOINT }, make({ audienceMode: 'legacy' }))).resolves.toBeDefined();
    const throwing = make({
      audienceMode: 'legacy',
      onWarning: () => {
        throw new Error('metrics down');
      },
    });
    await expect(auth({ aud: TOKEN_ENDPOINT }, throwing)).resolves.toMatchObject({ clientId: CLIENT_ID });
  });
});

describe('onError details that point at the option for a known client habit (issue 13)', () => {
  const detailOf = async (promise: Promise<unknown>) => {
    const err = await promise.then(
      () => undefined,
      (e: OAuthError) => e,
    );
    return err?.detail ?? '';
  };

  it('a token endpoint aud in strict mode names audienceMode "legacy" with "audiences"', async () => {
    expect(await detailOf(auth({ aud: TOKEN_ENDPOINT }))).toMatch(/RFC 10070.*audienceMode "legacy" accepts it/);
    const bare = createClientAuthenticator({ issuer: ISSUER, clients: [{ clientId: CLIENT_ID, publicKey: rsa.publicPem }] });
    expect(await detailOf(auth({ aud: TOKEN_ENDPOINT }, bare))).toMatch(/add it to "audiences" with audienceMode "legacy"/);
  });

  it('a list naming another server gets no hint towards legacy mode', async () => {
    const detail = await detailOf(auth({ aud: [ISSUER, 'https://other.example'] }));
    expect(detail).not.toMatch(/audienceMode "legacy" accepts/);
    expect(await detailOf(auth({ aud: [ISSUER, 'https://other.example'] }, make({ audienceMode: 'legacy' })))).toMatch(/another server/);
  });

  it('a reused jti names allowReuse', async () => {
    const a = make();
    const token = signJws({ alg: 'RS256' }, clientClaims(), rsa.privateKey);
    await a.authenticate(clientRequest(token));
    expect(await detailOf(a.authenticate(clientRequest(token)))).toMatch(/allowReuse/);
  });
});

describe('client_secret_jwt secret lists: rotation without downtime (issue 13)', () => {
  it('during a secret change, assertions signed with the current or the next secret are accepted; after it, only the new one', async () => {
    const current = secret(32);
    const next = secret(48);
    const registration = { clientId: 'rotating', clientSecret: [current] as string[] };
    const clients = createClientAuthenticator({ issuer: ISSUER, clients: () => ({ ...registration, clientSecret: [...registration.clientSecret] }) });
    const signed = (key: string) => createAssertion({ issuer: 'rotating', subject: 'rotating', audience: ISSUER, key });
    await expect(clients.authenticate(clientRequest(signed(current)))).resolves.toMatchObject({ clientId: 'rotating', method: 'client_secret_jwt' });
    // The server learns the next secret first; the client switches whenever it is ready.
    registration.clientSecret = [current, next];
    await expect(clients.authenticate(clientRequest(signed(current)))).resolves.toBeDefined();
    await expect(clients.authenticate(clientRequest(signed(next)))).resolves.toMatchObject({ clientId: 'rotating' });
    // Then the old secret is retired.
    registration.clientSecret = [next];
    await expectRejected(clients.authenticate(clientRequest(signed(current))), 'ERR_SIGNATURE_INVALID', 'invalid_client');
    await expect(clients.authenticate(clientRequest(signed(next)))).resolves.toBeDefined();
  });

  it('a secret list is validated: 1 to 4 secrets, each long enough, named by index', () => {
    const ok = () => createClientAuthenticator({ issuer: ISSUER, clients: [{ clientId: 'c', clientSecret: [secret(32), new Uint8Array(32).fill(1)] }] });
    expect(ok).not.toThrow();
    expect(() => createClientAuthenticator({ issuer: ISSUER, clients: [{ clientId: 'c', clientSecret: [] }] })).toThrow(
      /option "clients\[0\]\.clientSecret" must be a secret or a list of 1 to 4 secrets/,
    );
    expect(() => createClientAuthenticator({ issuer: ISSUER, clients: [{ clientId: 'c', clientSecret: [secret(32), 'short'] }] })).toThrow(
      /clients\[0\]\.clientSecret\[1\]/,
    );
    expect(() =>
      createClientAuthenticator({ issuer: ISSUER, clients: [{ clientId: 'c', clientSecret: Array.from({ length: 5 }, () => secret(32)) }] }),
    ).toThrow(/1 to 4 secrets/);
  });
});

describe('secret length messages (issue 14)', () => {
  it('an HS512-only client with a 40-byte secret gets the precise secret-length message, not "nothing in common"', () => {
    const make40 = () => createClientAuthenticator({ issuer: ISSUER, clients: [{ clientId: 'c', clientSecret: 'x'.repeat(40), algorithms: ['HS512'] }] });
    expect(make40).toThrow(TypeError);
    expect(make40).toThrow(/option "clients\[0\]\.clientSecret" is 40 bytes long; HS512 needs a secret of at least 64 bytes \(RFC 7518 §3\.2/);
    expect(make40).not.toThrow(/nothing in common/);
    expect(() =>
      createClientAuthenticator({ issuer: ISSUER, clients: [{ clientId: 'c', clientSecret: 'x'.repeat(40), algorithms: ['HS384', 'HS512'] }] }),
    ).toThrow(/is 40 bytes long; HS384, HS512 need a secret of at least 48 bytes/);
  });
});

describe('jti (RFC 7523 §3 item 7)', () => {
  it('client authentication requires a jti by default (ERR_JTI_MISSING)', async () => {
    await expectRejected(auth({ jti: undefined }), 'ERR_JTI_MISSING', 'invalid_client', 401);
  });

  it('requireJti: false accepts an assertion without jti, and then cannot detect its replay', async () => {
    const relaxed = make({ requireJti: false });
    const token = sign({ jti: undefined });
    await expect(relaxed.authenticate(clientRequest(token))).resolves.toBeDefined();
    await expect(relaxed.authenticate(clientRequest(token))).resolves.toBeDefined();
  });
});

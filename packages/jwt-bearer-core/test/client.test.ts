import {
  createAssertion,
  createClientAuthenticator,
  JWT_BEARER_CLIENT_ASSERTION_TYPE,
  type ClientAuthenticator,
  type ClientAuthenticatorOptions,
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
    await expectRejected(strict.authenticate(clientRequest(signJws({ alg: 'RS256' }, clientClaims(), other.privateKey))), 'ERR_SIGNATURE_INVALID', 'invalid_client', 401);
  });

  it('RFC 7521 §4.2: a client_id parameter equal to sub is accepted, another is refused before any key work', async () => {
    await expect(strict.authenticate(clientRequest(sign(), { client_id: CLIENT_ID }))).resolves.toBeDefined();
    await expectRejected(strict.authenticate(clientRequest(sign(), { client_id: 'secret-client' })), 'ERR_CLIENT_ID_MISMATCH', 'invalid_request', 400);
  });
});

describe('audience of a client assertion, strict mode (RFC 7523bis: the issuer identifier as sole value)', () => {
  it('RFC 7523bis: accepts aud equal to the issuer, as a string or a one-element array', async () => {
    await expect(auth({ aud: ISSUER })).resolves.toBeDefined();
    await expect(auth({ aud: [ISSUER] })).resolves.toBeDefined();
  });

  it('RFC 7523bis: refuses the token endpoint URL as aud, even when it is one of the configured audiences', async () => {
    await expectRejected(auth({ aud: TOKEN_ENDPOINT }), 'ERR_AUDIENCE_INVALID', 'invalid_client', 401);
    await expectRejected(auth({ aud: [TOKEN_ENDPOINT] }), 'ERR_AUDIENCE_INVALID');
  });

  it('RFC 7523bis: refuses aud with the issuer plus any extra value (audience injection)', async () => {
    await expectRejected(auth({ aud: [ISSUER, TOKEN_ENDPOINT] }), 'ERR_AUDIENCE_INVALID', 'invalid_client', 401);
    await expectRejected(auth({ aud: [ISSUER, 'https://attacker.example'] }), 'ERR_AUDIENCE_INVALID');
    await expectRejected(auth({ aud: ['https://attacker.example', ISSUER] }), 'ERR_AUDIENCE_INVALID');
    await expectRejected(auth({ aud: [ISSUER, ISSUER] }), 'ERR_AUDIENCE_INVALID');
  });

  it('RFC 7523 §3 item 3: refuses an aud that does not name this server', async () => {
    await expectRejected(auth({ aud: 'https://other-as.example' }), 'ERR_AUDIENCE_INVALID');
  });

  it('RFC 7523bis (RFC 3986 §6.2.1): exact string comparison: no trailing-slash or case folding', async () => {
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

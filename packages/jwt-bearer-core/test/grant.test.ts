import { createAssertion, createGrantVerifier, JWT_BEARER_GRANT_TYPE, type GrantVerifier, type TrustedIssuer } from '../src';
import {
  ecKeyPair,
  expectRejected,
  GRANT_ISSUER,
  grantClaims,
  grantRequest,
  ISSUER,
  jwkWithKid,
  rsaKeyPair,
  secret,
  signJws,
  SUBJECT,
  TOKEN_ENDPOINT,
  type TestKeyPair,
} from './helpers';

let rsa: TestKeyPair;
let other: TestKeyPair;
let ec: TestKeyPair;
let grants: GrantVerifier;
let hmac: string;

const SERVICE_ACCOUNT = 'svc@project.iam.gserviceaccount.com';

beforeAll(() => {
  rsa = rsaKeyPair();
  other = rsaKeyPair();
  ec = ecKeyPair();
  hmac = secret(48);
  grants = createGrantVerifier({
    issuer: ISSUER,
    audiences: [TOKEN_ENDPOINT],
    issuers: [
      { issuer: GRANT_ISSUER, publicKey: rsa.publicPem },
      { issuer: SERVICE_ACCOUNT, publicKey: rsa.publicPem, requireSubject: false, scopes: ['https://www.googleapis.com/auth/cloud-platform', 'read'] },
      { issuer: 'listed-subjects', publicKey: rsa.publicPem, subjects: ['alice', 'bob'] },
      { issuer: 'predicate-subjects', publicKey: rsa.publicPem, subjects: (sub) => sub.endsWith('@example.com') },
      { issuer: 'scoped', publicKey: rsa.publicPem, scopes: ['read', 'write'] },
      { issuer: 'other-key', publicKey: other.publicPem },
      { issuer: 'hmac-issuer', secret: hmac },
      { issuer: 'jwks-issuer', jwks: { keys: [jwkWithKid(ec, 'e1')] } },
    ],
  });
});

const sign = (overrides: Record<string, unknown> = {}, header: Record<string, unknown> = { alg: 'RS256', typ: 'JWT' }) =>
  signJws(header, grantClaims(overrides), rsa.privateKey);
const verify = (overrides: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => grants.verify(grantRequest(sign(overrides), extra));

describe('a valid grant (RFC 7523 §2.1)', () => {
  it('resolves the principal: issuer, subject, scope, audience, claims, header', async () => {
    const token = sign({ custom: 'x' });
    const principal = await grants.verify(grantRequest(token));
    expect(principal).toEqual({
      issuer: GRANT_ISSUER,
      subject: SUBJECT,
      scope: [],
      audience: ISSUER,
      claims: expect.objectContaining({ iss: GRANT_ISSUER, sub: SUBJECT, aud: ISSUER, custom: 'x' }),
      header: { alg: 'RS256', typ: 'JWT' },
      profile: 'rfc7523',
      resource: [],
    });
    expect(principal).not.toHaveProperty('clientId');
  });

  it('uses JWT_BEARER_GRANT_TYPE as the grant_type', () => {
    expect(JWT_BEARER_GRANT_TYPE).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
  });

  it('copies clientId from the context when the same request was client-authenticated (RFC 7523 §3.1)', async () => {
    await expect(grants.verify(grantRequest(sign()), { clientId: 'client-7' })).resolves.toMatchObject({ clientId: 'client-7' });
    await expect(grants.verify(grantRequest(sign()), {})).resolves.not.toHaveProperty('clientId');
  });

  it('verifies with the key of the named issuer only', async () => {
    await expectRejected(
      grants.verify(grantRequest(signJws({ alg: 'RS256' }, grantClaims({ iss: 'other-key' }), rsa.privateKey))),
      'ERR_SIGNATURE_INVALID',
      'invalid_grant',
      400,
    );
    await expect(grants.verify(grantRequest(signJws({ alg: 'RS256' }, grantClaims({ iss: 'other-key' }), other.privateKey)))).resolves.toMatchObject({
      issuer: 'other-key',
    });
  });

  it('verifies an HMAC issuer (secret) and a JWK Set issuer', async () => {
    await expect(grants.verify(grantRequest(signJws({ alg: 'HS384' }, grantClaims({ iss: 'hmac-issuer' }), hmac)))).resolves.toMatchObject({
      issuer: 'hmac-issuer',
    });
    await expect(grants.verify(grantRequest(signJws({ alg: 'ES256', kid: 'e1' }, grantClaims({ iss: 'jwks-issuer' }), ec.privateKey)))).resolves.toMatchObject({
      issuer: 'jwks-issuer',
    });
  });

  it('accepts what createAssertion signs', async () => {
    const token = createAssertion({ issuer: GRANT_ISSUER, subject: 'carol', audience: ISSUER, key: rsa.privatePem });
    await expect(grants.verify(grantRequest(token))).resolves.toMatchObject({ subject: 'carol' });
  });
});

describe('trust (RFC 7523 §3 item 1, §3.1)', () => {
  it('RFC 7523 §3.1: refuses an issuer that is not trusted with invalid_grant ERR_ISSUER_UNTRUSTED', async () => {
    await expectRejected(verify({ iss: 'https://evil.example' }), 'ERR_ISSUER_UNTRUSTED', 'invalid_grant', 400);
  });

  it('compares iss exactly: no trailing-slash or case folding', async () => {
    await expectRejected(verify({ iss: `${GRANT_ISSUER}/` }), 'ERR_ISSUER_UNTRUSTED');
    await expectRejected(verify({ iss: GRANT_ISSUER.toUpperCase() }), 'ERR_ISSUER_UNTRUSTED');
  });

  it('RFC 7523 §3 item 9: refuses an assertion signed by a key the issuer does not hold', async () => {
    await expectRejected(grants.verify(grantRequest(signJws({ alg: 'RS256' }, grantClaims(), other.privateKey))), 'ERR_SIGNATURE_INVALID', 'invalid_grant');
  });
});

describe('audience of a grant (RFC 7523 §3 item 3, RFC 7521 §5.2)', () => {
  it('accepts aud equal to the issuer, as a string or in an array', async () => {
    await expect(verify({ aud: ISSUER })).resolves.toMatchObject({ audience: ISSUER });
    await expect(verify({ aud: [ISSUER] })).resolves.toMatchObject({ audience: [ISSUER] });
  });

  it('RFC 7523 §3 item 3: accepts aud containing the issuer among other values', async () => {
    await expect(verify({ aud: ['https://rs.example', ISSUER] })).resolves.toBeDefined();
  });

  it('RFC 7523 §3 item 3: accepts one of the configured audiences (the token endpoint URL)', async () => {
    await expect(verify({ aud: TOKEN_ENDPOINT })).resolves.toBeDefined();
    await expect(verify({ aud: ['x', TOKEN_ENDPOINT] })).resolves.toBeDefined();
    const noAudiences = createGrantVerifier({ issuer: ISSUER, issuers: [{ issuer: GRANT_ISSUER, publicKey: rsa.publicPem }] });
    await expectRejected(noAudiences.verify(grantRequest(sign({ aud: TOKEN_ENDPOINT }))), 'ERR_AUDIENCE_INVALID', 'invalid_grant', 400);
  });

  it('RFC 7523 §3 item 3: refuses an aud that does not identify this server', async () => {
    await expectRejected(verify({ aud: 'https://other-as.example' }), 'ERR_AUDIENCE_INVALID', 'invalid_grant', 400);
    await expectRejected(verify({ aud: ['https://a.example', 'https://b.example'] }), 'ERR_AUDIENCE_INVALID');
  });

  it('RFC 7521 §5.2 (RFC 3986 §6.2.1): compares aud by exact string: no trailing slash, case or substring match', async () => {
    await expectRejected(verify({ aud: `${ISSUER}/` }), 'ERR_AUDIENCE_INVALID');
    await expectRejected(verify({ aud: ISSUER.toUpperCase() }), 'ERR_AUDIENCE_INVALID');
    await expectRejected(verify({ aud: ISSUER.slice(0, -1) }), 'ERR_AUDIENCE_INVALID');
    await expectRejected(verify({ aud: `${ISSUER} ` }), 'ERR_AUDIENCE_INVALID');
  });

  it('RFC 7523 §3 item 3: refuses an assertion without aud (ERR_CLAIM_MISSING)', async () => {
    await expectRejected(verify({ aud: undefined }), 'ERR_CLAIM_MISSING', 'invalid_grant');
  });

  it('RFC 7519 §4.1.3: refuses an aud that is not a string or a non-empty array of strings', async () => {
    await expectRejected(verify({ aud: [] }), 'ERR_CLAIM_INVALID');
    await expectRejected(verify({ aud: 42 }), 'ERR_CLAIM_INVALID');
    await expectRejected(verify({ aud: [ISSUER, 42] }), 'ERR_CLAIM_INVALID');
    await expectRejected(verify({ aud: { ISSUER } }), 'ERR_CLAIM_INVALID');
  });
});

describe('subject rules of a trusted issuer', () => {
  it('requireSubject: false lets an issuer omit sub; the subject is then the issuer (Google service accounts)', async () => {
    const principal = await verify({ iss: SERVICE_ACCOUNT, sub: undefined });
    expect(principal.subject).toBe(SERVICE_ACCOUNT);
    expect(principal.claims.sub).toBeUndefined();
    await expect(verify({ iss: SERVICE_ACCOUNT, sub: 'user@example.com' })).resolves.toMatchObject({ subject: 'user@example.com' });
  });

  it('RFC 7523 §3 item 2: requireSubject defaults to true (sub omitted is ERR_CLAIM_MISSING)', async () => {
    await expectRejected(verify({ sub: undefined }), 'ERR_CLAIM_MISSING', 'invalid_grant');
    const explicit = createGrantVerifier({ issuer: ISSUER, issuers: [{ issuer: GRANT_ISSUER, publicKey: rsa.publicPem, requireSubject: true }] });
    await expectRejected(explicit.verify(grantRequest(sign({ sub: undefined }))), 'ERR_CLAIM_MISSING');
  });

  it('with requireSubject: false and no sub, the subjects rule applies to the issuer as subject', async () => {
    const gated = createGrantVerifier({
      issuer: ISSUER,
      issuers: [{ issuer: SERVICE_ACCOUNT, publicKey: rsa.publicPem, requireSubject: false, subjects: ['alice'] }],
    });
    const request = (claims: Record<string, unknown>) => grantRequest(sign({ iss: SERVICE_ACCOUNT, ...claims }));
    await expectRejected(gated.verify(request({ sub: undefined })), 'ERR_SUBJECT_NOT_ALLOWED', 'invalid_grant', 400);
    await expect(gated.verify(request({ sub: 'alice' }))).resolves.toMatchObject({ subject: 'alice' });
  });

  it('a subjects list admits only the listed subjects (ERR_SUBJECT_NOT_ALLOWED otherwise)', async () => {
    await expect(verify({ iss: 'listed-subjects', sub: 'alice' })).resolves.toMatchObject({ subject: 'alice' });
    await expectRejected(verify({ iss: 'listed-subjects', sub: 'mallory' }), 'ERR_SUBJECT_NOT_ALLOWED', 'invalid_grant', 400);
    await expectRejected(verify({ iss: 'listed-subjects', sub: 'Alice' }), 'ERR_SUBJECT_NOT_ALLOWED');
  });

  it('a subjects predicate admits only subjects it returns true for', async () => {
    await expect(verify({ iss: 'predicate-subjects', sub: 'dave@example.com' })).resolves.toBeDefined();
    await expectRejected(verify({ iss: 'predicate-subjects', sub: 'dave@evil.com' }), 'ERR_SUBJECT_NOT_ALLOWED');
    const truthy = createGrantVerifier({
      issuer: ISSUER,
      issuers: [{ issuer: GRANT_ISSUER, publicKey: rsa.publicPem, subjects: (() => 'yes') as unknown as (s: string) => boolean }],
    });
    await expectRejected(truthy.verify(grantRequest(sign())), 'ERR_SUBJECT_NOT_ALLOWED');
  });
});

describe('scope (RFC 7521 §4.1, RFC 6749 §3.3 and §5.2 invalid_scope)', () => {
  it('takes the scope parameter', async () => {
    await expect(verify({}, { scope: 'read write' })).resolves.toMatchObject({ scope: ['read', 'write'] });
  });

  it('takes a space-separated scope claim when the request has no scope parameter', async () => {
    await expect(verify({ scope: 'openid profile' })).resolves.toMatchObject({ scope: ['openid', 'profile'] });
    await expect(verify({ scope: '' })).resolves.toMatchObject({ scope: [] });
  });

  it('DESIGN §8: a signed scope claim is a ceiling: the grant is the parameter ∩ the claim', async () => {
    // Issue 12 finding 6: signed "read", asked "read write admin", must get "read" only.
    await expect(verify({ scope: 'read' }, { scope: 'read write admin' })).resolves.toMatchObject({ scope: ['read'] });
    await expect(verify({ scope: 'read write' }, { scope: 'write' })).resolves.toMatchObject({ scope: ['write'] });
    await expect(verify({ scope: 'read write' })).resolves.toMatchObject({ scope: ['read', 'write'] });
  });

  it("DESIGN §8: with a claim, the grant is also narrowed to the issuer's scopes", async () => {
    await expect(verify({ iss: 'scoped', scope: 'read admin' }, { scope: 'read admin' })).resolves.toMatchObject({ scope: ['read'] });
  });

  it('DESIGN §8: a parameter that leaves nothing of the claim is invalid_scope', async () => {
    await expectRejected(verify({ scope: 'read' }, { scope: 'admin' }), 'ERR_SCOPE_INVALID', 'invalid_scope', 400);
    await expectRejected(verify({ scope: '' }, { scope: 'read' }), 'ERR_SCOPE_INVALID', 'invalid_scope', 400);
    await expectRejected(verify({ iss: 'scoped', scope: 'admin' }, { scope: 'admin' }), 'ERR_SCOPE_INVALID', 'invalid_scope', 400);
  });

  it('a malformed scope claim is refused even when the request has a scope parameter', async () => {
    await expectRejected(verify({ scope: ['read'] }, { scope: 'read' }), 'ERR_CLAIM_INVALID', 'invalid_grant');
  });

  it("RFC 6749 §5.2: refuses a scope parameter outside the issuer's scopes with invalid_scope", async () => {
    await expect(verify({ iss: 'scoped' }, { scope: 'read write' })).resolves.toMatchObject({ scope: ['read', 'write'] });
    await expectRejected(verify({ iss: 'scoped' }, { scope: 'read admin' }), 'ERR_SCOPE_INVALID', 'invalid_scope', 400);
  });

  it("RFC 6749 §5.2: refuses a scope claim outside the issuer's scopes with invalid_scope when the request has none", async () => {
    await expectRejected(verify({ iss: 'scoped', scope: 'admin' }), 'ERR_SCOPE_INVALID', 'invalid_scope', 400);
    await expectRejected(
      verify({ iss: SERVICE_ACCOUNT, sub: undefined, scope: 'https://www.googleapis.com/auth/gmail' }),
      'ERR_SCOPE_INVALID',
      'invalid_scope',
    );
    await expect(verify({ iss: SERVICE_ACCOUNT, sub: undefined, scope: 'https://www.googleapis.com/auth/cloud-platform' })).resolves.toMatchObject({
      scope: ['https://www.googleapis.com/auth/cloud-platform'],
    });
  });

  it('without configured scopes, any well-formed scope passes', async () => {
    await expect(verify({}, { scope: 'anything:at-all' })).resolves.toMatchObject({ scope: ['anything:at-all'] });
  });

  it('RFC 6749 §3.3: refuses a scope claim that is not a string or not scope syntax (invalid_grant ERR_CLAIM_INVALID)', async () => {
    await expectRejected(verify({ scope: ['read'] }), 'ERR_CLAIM_INVALID', 'invalid_grant');
    await expectRejected(verify({ scope: 'read  write' }), 'ERR_CLAIM_INVALID', 'invalid_grant');
  });

  it('a scope refusal is reported with the issuer it concerns', async () => {
    const events: unknown[] = [];
    const v = createGrantVerifier({
      issuer: ISSUER,
      issuers: [{ issuer: 'scoped', publicKey: rsa.publicPem, scopes: ['read'] } satisfies TrustedIssuer],
      onError: (e) => events.push(e),
    });
    await expectRejected(v.verify(grantRequest(sign({ iss: 'scoped' }), { scope: 'write' })), 'ERR_SCOPE_INVALID');
    expect(events).toEqual([
      expect.objectContaining({ code: 'ERR_SCOPE_INVALID', error: 'invalid_scope', issuer: 'scoped', detail: expect.stringContaining('write') }),
    ]);
  });
});

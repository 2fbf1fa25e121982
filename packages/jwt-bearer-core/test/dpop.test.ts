import { calculateJwkThumbprint } from 'jose';
import { createGrantVerifier, jwkThumbprint } from '../src/index';
import { ecKeyPair, ed25519KeyPair, GRANT_ISSUER, ISSUER, rsaKeyPair, signJws, SUBJECT, TOKEN_ENDPOINT, nowSeconds } from './helpers';
import { GRANT_TYPE } from './helpers';

describe('jwkThumbprint (RFC 7638 §3)', () => {
  it.each([
    ['RSA', rsaKeyPair()],
    ['EC P-256', ecKeyPair()],
    ['OKP Ed25519', ed25519KeyPair()],
  ])("RFC 7638 §3.2: the thumbprint of an %s key equals jose's", async (_kind, pair) => {
    const jwk = { ...pair.publicJwk, kid: 'ignored', use: 'sig' };
    expect(jwkThumbprint(jwk)).toBe(await calculateJwkThumbprint(jwk as never, 'sha256'));
  });

  it('RFC 7638 §3.2: only the required members count, in lexicographic order', () => {
    const { publicJwk } = ecKeyPair();
    const reordered = { y: publicJwk.y, x: publicJwk.x, kty: 'EC', crv: publicJwk.crv, alg: 'ES256' };
    expect(jwkThumbprint(reordered)).toBe(jwkThumbprint(publicJwk));
  });
});

describe('DPoP proofs in the core (RFC 9449 §4.3)', () => {
  const idp = ed25519KeyPair();
  const client = ecKeyPair();
  const verifier = createGrantVerifier({
    issuer: ISSUER,
    issuers: [{ issuer: GRANT_ISSUER, publicKey: idp.publicPem }],
    dpop: { tokenEndpoint: TOKEN_ENDPOINT, maxAge: 30 },
  });
  const assertion = () =>
    signJws({ alg: 'EdDSA' }, { iss: GRANT_ISSUER, sub: SUBJECT, aud: ISSUER, exp: nowSeconds() + 60, iat: nowSeconds() }, idp.privateKey);
  const proof = (claims: Record<string, unknown> = {}) =>
    signJws(
      { typ: 'dpop+jwt', alg: 'ES256', jwk: client.publicJwk },
      { jti: `p-${Math.random()}`, htm: 'POST', htu: TOKEN_ENDPOINT, iat: nowSeconds(), ...claims },
      client.privateKey,
    );
  const request = (dpop: string | string[]) => ({ body: { grant_type: GRANT_TYPE, assertion: assertion() }, headers: { dpop } });

  it("RFC 9449 §4.3: a valid proof gives principal.dpop.jkt, the key's RFC 7638 thumbprint", async () => {
    const principal = await verifier.verify(request(proof()));
    expect(principal.dpop).toEqual({ jkt: jwkThumbprint(client.publicJwk) });
  });

  it('RFC 9449 §4.3 item 1: two DPoP headers are invalid_dpop_proof', async () => {
    await expect(verifier.verify(request([proof(), proof()]))).rejects.toMatchObject({
      code: 'ERR_DPOP_PROOF_INVALID',
      error: 'invalid_dpop_proof',
      status: 400,
    });
    await expect(verifier.verify(request(`${proof()}, ${proof()}`))).rejects.toMatchObject({ code: 'ERR_DPOP_PROOF_INVALID' });
  });

  it("RFC 9449 §4.3 item 11: maxAge bounds the proof's age", async () => {
    await expect(verifier.verify(request(proof({ iat: nowSeconds() - 25 })))).resolves.toHaveProperty('dpop');
    await expect(verifier.verify(request(proof({ iat: nowSeconds() - 45 })))).rejects.toMatchObject({ code: 'ERR_DPOP_PROOF_INVALID' });
  });

  it('RFC 9449 §5.1: metadata lists the proof algorithms, asymmetric only', () => {
    expect(verifier.metadata.dpop_signing_alg_values_supported).toEqual([
      'RS256',
      'RS384',
      'RS512',
      'PS256',
      'PS384',
      'PS512',
      'ES256',
      'ES384',
      'ES512',
      'EdDSA',
      'Ed25519',
    ]);
  });

  it('RFC 7517 §4.2–4.4: a key seen before is still refused when its jwk restricts it (alg, use, key_ops)', async () => {
    // The first proof imports the key and remembers it by thumbprint.
    await expect(verifier.verify(request(proof()))).resolves.toHaveProperty('dpop');
    const restricted = (member: Record<string, unknown>) =>
      signJws(
        { typ: 'dpop+jwt', alg: 'ES256', jwk: { ...client.publicJwk, ...member } },
        { jti: `p-${Math.random()}`, htm: 'POST', htu: TOKEN_ENDPOINT, iat: nowSeconds() },
        client.privateKey,
      );
    for (const member of [{ alg: 'ES384' }, { use: 'enc' }, { key_ops: ['encrypt'] }]) {
      await expect(verifier.verify(request(restricted(member)))).rejects.toMatchObject({
        code: 'ERR_DPOP_PROOF_INVALID',
        detail: expect.stringContaining('jwk is not a public ES256 key'),
      });
    }
    // The members that allow it, written out, change nothing.
    await expect(verifier.verify(request(restricted({ alg: 'ES256', use: 'sig', key_ops: ['verify'] })))).resolves.toHaveProperty('dpop');
  });

  it('RFC 9449 §4.3 item 8: a proof signed by another key than its jwk fails, also once that jwk is known', async () => {
    const other = ecKeyPair();
    const forged = signJws(
      { typ: 'dpop+jwt', alg: 'ES256', jwk: client.publicJwk },
      { jti: `p-${Math.random()}`, htm: 'POST', htu: TOKEN_ENDPOINT, iat: nowSeconds() },
      other.privateKey,
    );
    await expect(verifier.verify(request(proof()))).resolves.toHaveProperty('dpop');
    await expect(verifier.verify(request(forged))).rejects.toMatchObject({
      code: 'ERR_DPOP_PROOF_INVALID',
      detail: expect.stringContaining('signature does not verify'),
    });
  });

  it("RFC 9449 §4.3 item 8: on libuv's thread pool (offload 'always') a proof is checked the same way", async () => {
    const offloaded = createGrantVerifier({
      issuer: ISSUER,
      issuers: [{ issuer: GRANT_ISSUER, publicKey: idp.publicPem }],
      dpop: { tokenEndpoint: TOKEN_ENDPOINT, maxAge: 30 },
      offload: 'always',
    });
    const principal = await offloaded.verify(request(proof()));
    expect(principal.dpop).toEqual({ jkt: jwkThumbprint(client.publicJwk) });
    const valid = proof();
    const tampered = `${valid.slice(0, -4)}${valid.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    await expect(offloaded.verify(request(tampered))).rejects.toMatchObject({ code: 'ERR_DPOP_PROOF_INVALID', error: 'invalid_dpop_proof' });
  });

  it('RFC 9449 §4.3 item 10: htu is compared after normalisation, so a spelling the parser folds is accepted', async () => {
    const upper = TOKEN_ENDPOINT.replace('https://', 'HTTPS://');
    await expect(verifier.verify(request(proof({ htu: `${upper}?x=1#f` })))).resolves.toHaveProperty('dpop');
    await expect(verifier.verify(request(proof({ htu: `${TOKEN_ENDPOINT}/other` })))).rejects.toMatchObject({ code: 'ERR_DPOP_PROOF_INVALID' });
  });
});

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
});

import { createClientAuthenticator, createGrantVerifier, ID_JAG_GRANT_PROFILE, mergeMetadata } from '../src/index';
import { ecKeyPair, GRANT_ISSUER, ISSUER, rsaKeyPair, secret } from './helpers';

const GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

describe('metadata (RFC 8414 §2) derived from the options', () => {
  const rsa = rsaKeyPair();
  const ec = ecKeyPair();

  it('RFC 8414 §2: a grant verifier advertises the jwt-bearer grant type and no profile without an ID-JAG issuer', () => {
    const verifier = createGrantVerifier({ issuer: ISSUER, issuers: [{ issuer: GRANT_ISSUER, publicKey: rsa.publicPem }] });
    expect(verifier.metadata).toEqual({ grant_types_supported: [GRANT] });
    expect(Object.isFrozen(verifier.metadata)).toBe(true);
    expect(Object.isFrozen(verifier.metadata.grant_types_supported)).toBe(true);
  });

  it('draft-ietf-oauth-identity-assertion-authz-grant, RAS metadata: an issuer with the id-jag profile adds authorization_grant_profiles_supported', () => {
    const verifier = createGrantVerifier({
      issuer: ISSUER,
      issuers: [
        { issuer: GRANT_ISSUER, publicKey: rsa.publicPem },
        { issuer: 'https://idp.example', publicKey: ec.publicPem, profiles: ['id-jag'] },
      ],
    });
    expect(verifier.metadata.authorization_grant_profiles_supported).toEqual([ID_JAG_GRANT_PROFILE]);
    // The draft: a server advertising the profile MUST list the jwt-bearer grant type too.
    expect(verifier.metadata.grant_types_supported).toEqual([GRANT]);
  });

  it('RFC 8414 §2: a client list advertises the methods and algorithms its keys can use', () => {
    const clients = createClientAuthenticator({
      issuer: ISSUER,
      clients: [
        { clientId: 'a', publicKey: ec.publicPem },
        { clientId: 'b', clientSecret: secret(), algorithms: ['HS256'] },
      ],
    });
    expect(clients.metadata).toEqual({
      token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['ES256', 'HS256'],
    });
  });

  it('RFC 8414 §2: a lookup function advertises what the global algorithms allow', () => {
    const clients = createClientAuthenticator({ issuer: ISSUER, clients: () => undefined, algorithms: ['ES256', 'EdDSA'] });
    expect(clients.metadata).toEqual({
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['ES256', 'EdDSA'],
    });
  });

  it("mergeMetadata unites array fields without duplicates and keeps the app's own fields", () => {
    const merged = mergeMetadata(
      { issuer: ISSUER, token_endpoint_auth_methods_supported: ['client_secret_basic'] },
      { token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic'], grant_types_supported: [GRANT] },
      { grant_types_supported: ['client_credentials', GRANT] },
      undefined,
    );
    expect(merged).toEqual({
      issuer: ISSUER,
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'private_key_jwt'],
      grant_types_supported: [GRANT, 'client_credentials'],
    });
  });
});

import * as core from '../src';
import * as mapped from 'jwt-bearer-core';

describe('public API (DESIGN §3: names are fixed)', () => {
  it('exports the constants with the RFC 7523 URNs', () => {
    expect(core.JWT_BEARER_GRANT_TYPE).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    expect(core.JWT_BEARER_CLIENT_ASSERTION_TYPE).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
  });

  it('exports the factories, errors, replay store and createAssertion', () => {
    for (const name of [
      'createGrantVerifier',
      'createClientAuthenticator',
      'clientAuthenticationRequired',
      'createAssertion',
      'toErrorResponse',
      'isOAuthError',
    ] as const) {
      expect(typeof core[name]).toBe('function');
    }
    expect(typeof core.OAuthError).toBe('function');
    expect(typeof core.MemoryReplayStore).toBe('function');
    expect(typeof core.ReplayStoreFullError).toBe('function');
    expect(Object.keys(core.ERROR_CODES)).toContain('ERR_ASSERTION_EXPIRED');
    expect(core.SUPPORTED_ALGORITHMS).not.toContain('none');
  });

  it('the jwt-bearer-core module name maps to the same sources', () => {
    expect(mapped.createGrantVerifier).toBe(core.createGrantVerifier);
    expect(mapped.OAuthError).toBe(core.OAuthError);
  });
});

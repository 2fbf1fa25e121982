import { generateKeyPairSync } from 'node:crypto';
import { createOAuth2ServerBridge, JWT_BEARER_GRANT_TYPE } from '../src';

const model = { getClient: async () => false as const, saveToken: async () => false as const };
const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const grant = { issuer: 'https://as.example.com', issuers: [{ issuer: 'https://svc.example.com', publicKey }] };

describe('createOAuth2ServerBridge(): options are validated at factory time', () => {
  it.each([
    ['model', { model: {} }],
    ['model', { model: null }],
    ['getUser', { model, grant }],
    ['getUser', { model, getUser: 'x' }],
    ['publicClients', { model, publicClients: 'yes' }],
  ])('a bad %s throws a TypeError naming it', (name, options) => {
    expect(() => createOAuth2ServerBridge(options as never)).toThrow(new RegExp(`"${name}"`));
  });
  it('the core validates the grant options (TypeError naming the option)', () => {
    expect(() => createOAuth2ServerBridge({ model, grant: { ...grant, issuer: 'ftp://x' }, getUser: () => false })).toThrow(TypeError);
  });
  it('without option grant: no extended grant type, no grant metadata', () => {
    const bridge = createOAuth2ServerBridge({ model });
    expect(bridge.grantTypes).toEqual({});
    expect(bridge.metadata).toEqual({});
  });
  it('with option grant: the jwt-bearer grant type, its metadata, and requireClientAuthentication false for every grant', () => {
    const bridge = createOAuth2ServerBridge({ model, grant, getUser: () => false });
    expect(Object.keys(bridge.grantTypes)).toEqual([JWT_BEARER_GRANT_TYPE]);
    expect(bridge.metadata.grant_types_supported).toContain(JWT_BEARER_GRANT_TYPE);
    expect(Object.values(bridge.requireClientAuthentication).every((v) => v === false)).toBe(true);
  });
  it('the grant type refuses a model without saveToken when the library constructs it', () => {
    const bridge = createOAuth2ServerBridge({ model, grant, getUser: () => false });
    const GrantType = bridge.grantTypes[JWT_BEARER_GRANT_TYPE] as unknown as new (o: object) => unknown;
    expect(() => new GrantType({ model: { getClient: model.getClient }, accessTokenLifetime: 60 })).toThrow(/saveToken/);
  });
  it('the wrapped model keeps the model\'s other methods', () => {
    const bridge = createOAuth2ServerBridge({ model });
    expect(bridge.model.saveToken).toBe(model.saveToken);
    expect(bridge.model.getClient).not.toBe(model.getClient);
  });
});

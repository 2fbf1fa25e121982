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
  it("the wrapped model keeps the model's other methods", () => {
    const bridge = createOAuth2ServerBridge({ model });
    expect(bridge.model.saveToken).toBe(model.saveToken);
    expect(bridge.model.getClient).not.toBe(model.getClient);
  });
});

describe('the wrapped getClient: what each bound request may look up', () => {
  const client = { id: 'c', grants: ['client_credentials'] };
  const lookups: Array<[string, string | null | undefined]> = [];
  const m = {
    async getClient(id: string, secret: string | null | undefined) {
      lookups.push([id, secret]);
      return id === 'c' && (secret === null || secret === 's') ? client : false;
    },
  };
  const assertion = { clientId: 'c', method: 'private_key_jwt' as const, claims: {} as never, header: { alg: 'ES256' as const } };
  const reason = (p: Promise<unknown>) =>
    p.then(
      () => 'resolved',
      (e: { name?: string; message?: string }) => `${e.name}: ${e.message}`,
    );

  it('token endpoint without authentication: refused before the model is asked (invalid_client)', async () => {
    const bridge = createOAuth2ServerBridge({ model: m });
    lookups.length = 0;
    expect(await reason(bridge.run({}, () => bridge.model.getClient('c', undefined)))).toMatch(/^invalid_client: .*required/);
    expect(await reason(bridge.run({}, () => bridge.model.getClient('c', null)))).toMatch(/^invalid_client/);
    expect(lookups).toEqual([]);
  });
  it('token endpoint with a secret: the model checks it; the client counts as authenticated only when it does', async () => {
    const bridge = createOAuth2ServerBridge({ model: m });
    await bridge.run({}, async () => {
      expect(await bridge.model.getClient('c', 'wrong')).toBe(false);
      expect(bridge.authenticatedClient()).toBeUndefined();
      expect(await bridge.model.getClient('c', 's')).toBe(client);
      expect(bridge.authenticatedClient()).toEqual({ clientId: 'c', method: 'client_secret' });
    });
  });
  it('with a client assertion: only that client, only without a secret (RFC 6749 §2.3)', async () => {
    const bridge = createOAuth2ServerBridge({ model: m });
    expect(await reason(bridge.run({ client: assertion }, () => bridge.model.getClient('other', null)))).toMatch(/^invalid_client: .*does not match/);
    expect(await reason(bridge.run({ client: assertion }, () => bridge.model.getClient('c', 's')))).toMatch(/^invalid_client: .*more than one/);
    await bridge.run({ client: assertion }, async () => {
      expect(await bridge.model.getClient('c', undefined)).toBe(client);
      expect(bridge.authenticatedClient()).toEqual({ clientId: 'c', method: 'private_key_jwt' });
    });
  });
  it('a client assertion fills a missing client_id (RFC 7521 §4.2) and leaves a present one alone', () => {
    const bridge = createOAuth2ServerBridge({ model: m });
    const body: Record<string, unknown> = { grant_type: 'client_credentials' };
    bridge.run({ client: assertion, body }, () => undefined);
    expect(body.client_id).toBe('c');
    const other: Record<string, unknown> = { client_id: 'x' };
    bridge.run({ client: assertion, body: other }, () => undefined);
    expect(other.client_id).toBe('x');
  });
  it('PKCE public clients only with publicClients: true, and only for authorization_code with a code_verifier', async () => {
    const pkce = { grant_type: 'authorization_code', code: 'x', code_verifier: 'v'.repeat(43) };
    const closed = createOAuth2ServerBridge({ model: m });
    expect(await reason(closed.run({ body: pkce }, () => closed.model.getClient('c', undefined)))).toMatch(/^invalid_client/);
    const open = createOAuth2ServerBridge({ model: m, publicClients: true });
    expect(await open.run({ body: pkce }, () => open.model.getClient('c', undefined))).toBe(client);
    expect(open.run({ body: pkce }, () => open.authenticatedClient())).toBeUndefined();
    expect(await reason(open.run({ body: { grant_type: 'client_credentials' } }, () => open.model.getClient('c', undefined)))).toMatch(/^invalid_client/);
  });
  it('authorization endpoint: lookups by id reach the model unchanged, and nothing counts as authenticated', async () => {
    const bridge = createOAuth2ServerBridge({ model: m });
    await bridge.run({ endpoint: 'authorization' }, async () => {
      expect(await bridge.model.getClient('c', null)).toBe(client);
      expect(bridge.authenticatedClient()).toBeUndefined();
    });
    expect(() => bridge.bind({ endpoint: 'x' as never })).toThrow(/"endpoint"/);
  });
  it('not bound at all: server_error, the model is not asked', async () => {
    const bridge = createOAuth2ServerBridge({ model: m });
    lookups.length = 0;
    expect(await reason(bridge.model.getClient('c', 's') as Promise<unknown>)).toMatch(/^server_error/);
    expect(lookups).toEqual([]);
  });
});

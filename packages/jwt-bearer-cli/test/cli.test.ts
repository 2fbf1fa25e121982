/**
 * The `jwt-bearer` binary, run as a real child process on real files: keygen, mint, inspect,
 * check against a configuration module that an Express app also uses, and metadata.
 */
import { execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import request from 'supertest';
import { clientAssertion, jwtBearerGrant } from 'express-jwt-bearer';
import { createAssertion, createClientAuthenticator, JWT_BEARER_CLIENT_ASSERTION_TYPE, mergeMetadata } from 'jwt-bearer-core';

// Each test starts one or more Node processes on a machine that may be busy.
jest.setTimeout(60_000);

const ROOT = join(__dirname, '..', '..', '..');
const BIN = join(__dirname, '..', 'bin', 'jwt-bearer.js');
const AS = 'https://as.example.com';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the binary with `args`; never blocks this process, so the test's own servers keep answering. */
function cli(args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

const json = (run: Run) => JSON.parse(run.stdout) as Record<string, unknown>;

let dir: string;
let jwksServer: Server;
beforeAll(() => {
  // The binary runs dist/: build it from the current sources (incremental, a no-op when up to date).
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-b', 'packages/jwt-bearer-cli'], { cwd: ROOT, stdio: 'pipe' });
  dir = mkdtempSync(join(tmpdir(), 'jwt-bearer-cli-'));
}, 120_000);
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (jwksServer) await new Promise((resolve) => jwksServer.close(resolve));
});

describe('help and usage', () => {
  test.each(['keygen', 'mint', 'inspect', 'check', 'metadata'])('jwt-bearer %s --help: usage on stdout, exit 0', async (command) => {
    const run = await cli([command, '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^Usage: jwt-bearer ${command} `));
    expect(run.stdout).toContain('--json');
  });

  test('jwt-bearer --help lists every command; no command at all is a usage error (2)', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['keygen', 'mint', 'inspect', 'check', 'metadata']) expect(help.stdout).toContain(`  ${command} `);
    expect((await cli([])).code).toBe(2);
  });

  test('an unknown command, an unknown option, a missing value: exit 2 with a message on stderr', async () => {
    const unknown = await cli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const option = await cli(['keygen', '--bits', '4096']);
    expect(option.code).toBe(2);
    expect(option.stderr).toMatch(/jwt-bearer keygen: Unknown option '--bits'/);
    const missing = await cli(['mint', '--iss', 'x', '--aud', AS]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--key is required');
  });

  test('runs from the TypeScript sources when dist/ is not built (a fresh clone after npm ci)', async () => {
    const run = await cli(['--help'], { env: { JWT_BEARER_CLI_FROM_SOURCE: '1' } });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: jwt-bearer <command>');
  }, 60_000);
});

describe('keygen and mint', () => {
  test('keygen writes a private key (mode 0600) and a public JWKS with the kid; refuses to overwrite', async () => {
    const run = await cli(['keygen', '--alg', 'ES256', '--kid', 'k1', '--key-out', 'client.pem', '--jwks-out', 'client.jwks.json', '--json']);
    expect(run.code).toBe(0);
    expect(json(run)).toEqual({ alg: 'ES256', kid: 'k1', keyFile: 'client.pem', jwksFile: 'client.jwks.json' });
    expect(statSync(join(dir, 'client.pem')).mode & 0o777).toBe(0o600);
    const jwks = JSON.parse(readFileSync(join(dir, 'client.jwks.json'), 'utf8')) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', kid: 'k1', alg: 'ES256', use: 'sig' });
    expect(jwks.keys[0]!.d).toBeUndefined();
    const again = await cli(['keygen', '--key-out', 'client.pem']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('client.pem exists');
  });

  test('keygen without files prints the key and the JWKS; the default kid is the RFC 7638 thumbprint', async () => {
    const run = await cli(['keygen', '--alg', 'RS256', '--json']);
    const out = json(run) as { kid: string; privateKey: string; jwks: { keys: { kid: string; kty: string }[] } };
    expect(out.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(out.jwks.keys[0]).toMatchObject({ kty: 'RSA', kid: out.kid });
    expect(out.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const secret = json(await cli(['keygen', '--alg', 'HS256', '--json'])) as { secret: string };
    expect(Buffer.from(secret.secret, 'base64url')).toHaveLength(32);
  });

  test('mint --client signs with the key file; the JWKS file verifies it (real core verification)', async () => {
    const run = await cli([
      'mint',
      '--key',
      'client.pem',
      '--client',
      '--iss',
      'app-1',
      '--aud',
      AS,
      '--kid',
      'k1',
      '--typ',
      'client-authentication+jwt',
      '--claim',
      'tenant=acme',
      '--claim',
      'n=3',
      '--json',
    ]);
    expect(run.code).toBe(0);
    const out = json(run) as { assertion: string; header: object; claims: Record<string, unknown>; form: Record<string, string> };
    expect(out.header).toMatchObject({ alg: 'ES256', kid: 'k1', typ: 'client-authentication+jwt' });
    expect(out.claims).toMatchObject({ iss: 'app-1', sub: 'app-1', aud: AS, tenant: 'acme', n: 3 });
    expect(out.form).toEqual({ client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE, client_assertion: out.assertion });
    const jwks = JSON.parse(readFileSync(join(dir, 'client.jwks.json'), 'utf8')) as { keys: never[] };
    const auth = createClientAuthenticator({ issuer: AS, clients: [{ clientId: 'app-1', jwks }] });
    await expect(auth.authenticate({ body: out.form, headers: {} })).resolves.toMatchObject({ clientId: 'app-1', method: 'private_key_jwt' });
  });
});

describe('inspect', () => {
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

  test('a good client assertion: exit 0, times in UTC and relative, every rule passes or needs keys', async () => {
    const token = createAssertion({ issuer: 'app-1', subject: 'app-1', audience: AS, key, expiresIn: 120 });
    const run = await cli(['inspect', token, '--issuer', AS, '--json']);
    expect(run.code).toBe(0);
    const out = json(run) as { use: string; findings: { result: string; step: number }[]; times: Record<string, { utc: string; relative: string }> };
    expect(out.use).toBe('client');
    expect(out.findings.filter((f) => f.result === 'fail')).toEqual([]);
    // Trust, key and replay cannot be judged without the configuration.
    expect(out.findings.filter((f) => f.result === 'skip').map((f) => f.step)).toEqual([3, 4, 6]);
    expect(out.times.exp!.utc).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(out.times.exp!.relative).toMatch(/^in (1 min 5\d s|2 min)$/);
    const human = await cli(['inspect', token]);
    expect(human.stdout).toMatch(/exp {5}\d{4}-\d\d-\d\dT[\d:]+Z {2}\(in /);
  });

  test('refusals a key is not needed for: expired, two aud values (RFC 10070), a foreign typ, missing jti: exit 1 with each code', async () => {
    const issuedAt = Math.floor(Date.now() / 1000) - 3600;
    const token = createAssertion({
      issuer: 'app-1',
      subject: 'app-1',
      audience: [AS, 'https://other.example'],
      key,
      issuedAt,
      expiresIn: 60,
      type: 'at+jwt',
      jwtId: null,
    });
    const run = await cli(['inspect', token, '--client', '--json']);
    expect(run.code).toBe(1);
    const codes = (json(run).findings as { code?: string }[]).map((f) => f.code).filter(Boolean);
    expect(codes).toEqual(['ERR_TYPE_INVALID', 'ERR_AUDIENCE_INVALID', 'ERR_ASSERTION_EXPIRED', 'ERR_ASSERTION_LIFETIME_EXCEEDED', 'ERR_JTI_MISSING']);
    const human = await cli(['inspect', '-', '--client'], { input: `${token}\n` });
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('FAIL  aud has a sole value (RFC 10070)');
    expect(human.stdout).toMatch(/refused: ERR_TYPE_INVALID, ERR_AUDIENCE_INVALID/);
  });

  test('not a JWS at all: exit 1, ERR_ASSERTION_MALFORMED', async () => {
    const run = await cli(['inspect', 'not-a-token', '--json']);
    expect(run.code).toBe(1);
    expect(json(run)).toMatchObject({ accepted: false, findings: expect.arrayContaining([expect.objectContaining({ code: 'ERR_ASSERTION_MALFORMED' })]) });
  });
});

describe('check against the configuration module the app uses', () => {
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  let config: string;
  beforeAll(async () => {
    // The grant's issuer publishes its keys on a real JWKS endpoint the child process fetches.
    const issuerKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(join(dir, 'issuer.pem'), issuerKeys.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const jwk = { ...issuerKeys.publicKey.export({ format: 'jwk' }), kid: 'i1' };
    jwksServer = createServer((_req, res) => res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    const { port } = jwksServer.address() as AddressInfo;
    config = join(dir, 'jwt-bearer.config.js');
    writeFileSync(
      config,
      `const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const jwks = JSON.parse(readFileSync(join(__dirname, 'client.jwks.json'), 'utf8'));
module.exports = {
  client: { issuer: ${JSON.stringify(AS)}, clients: [{ clientId: 'app-1', jwks }] },
  grant: {
    issuer: ${JSON.stringify(AS)},
    issuers: [{ issuer: 'https://idp.example', jwksUri: 'http://127.0.0.1:${port}/jwks', scopes: ['read', 'write'] }],
    issueToken: () => ({ access_token: 'at', token_type: 'Bearer' }),
  },
};
`,
    );
  });

  test('check twice on one client assertion: accepted both times (jti not consumed); then the app accepts it once and refuses the replay', async () => {
    const token = json(await cli(['mint', '--key', 'client.pem', '--client', '--iss', 'app-1', '--aud', AS, '--json'])).assertion as string;
    for (let i = 0; i < 2; i++) {
      const run = await cli(['check', '--config', config, token, '--client', '--json']);
      expect(run.code).toBe(0);
      const out = json(run) as { accepted: boolean; steps: { step: number; result: string }[]; principal: { clientId: string } };
      expect(out.accepted).toBe(true);
      expect(out.steps.map((s) => s.result)).toEqual(['pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'pass']);
      expect(out.principal.clientId).toBe('app-1');
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const options = require(config) as { client: Parameters<typeof clientAssertion>[0] };
    const app = express();
    app.post('/token', clientAssertion(options.client), (req, res) => void res.json({ client: req.jwtBearer?.client?.clientId }));
    const form = { client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE, client_assertion: token, grant_type: 'client_credentials' };
    await request(app).post('/token').type('form').send(form).expect(200, { client: 'app-1' });
    const replay = await request(app).post('/token').type('form').send(form).expect(401);
    expect(replay.body.error).toBe('invalid_client');
  });

  test('a grant from a jwksUri issuer: the child fetches the keys and accepts; the human output lists the seven steps', async () => {
    const token = json(
      await cli(['mint', '--key', 'issuer.pem', '--grant', '--iss', 'https://idp.example', '--sub', 'alice', '--aud', AS, '--kid', 'i1', '--json']),
    ).assertion as string;
    const run = await cli(['check', '--config', config, token, '--grant', '--scope', 'read']);
    // With the output, should it fail.
    expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('authorization grant checked against');
    expect(run.stdout).toMatch(/^1\. request shape {6}pass$/m);
    expect(run.stdout).toMatch(/^7\. principal {10}pass {2}\(subject "alice" of issuer "https:\/\/idp\.example", scope "read"\)$/m);
    expect(run.stdout).toMatch(/accepted\n$/);
  });

  test('refused at step 4 (a key the client does not have): exit 1, the exact code and detail; later steps not reached', async () => {
    const token = createAssertion({ issuer: 'app-1', subject: 'app-1', audience: AS, key: other, keyId: 'k1' });
    const run = await cli(['check', '--config', config, token, '--json']);
    expect(run.code).toBe(1);
    const out = json(run) as { accepted: boolean; code: string; status: number; steps: { step: number; result: string; code?: string; detail?: string }[] };
    expect(out).toMatchObject({ accepted: false, code: 'ERR_SIGNATURE_INVALID', status: 401 });
    expect(out.steps.map((s) => s.result)).toEqual(['pass', 'pass', 'pass', 'fail', 'skip', 'skip', 'skip']);
    expect(out.steps[3]).toMatchObject({ code: 'ERR_SIGNATURE_INVALID', detail: expect.any(String) });
  });

  test("refused at step 5 (scope outside the issuer's scopes): exit 1, invalid_scope", async () => {
    const token = json(await cli(['mint', '--key', 'issuer.pem', '--iss', 'https://idp.example', '--sub', 'alice', '--aud', AS, '--kid', 'i1', '--json']))
      .assertion as string;
    const run = await cli(['check', '--config', config, token, '--grant', '--scope', 'admin', '--json']);
    expect(run.code).toBe(1);
    expect(json(run)).toMatchObject({ error: 'invalid_scope', code: 'ERR_SCOPE_INVALID', detail: expect.stringContaining('admin') });
  });

  test('configuration errors: a module that does not load, an invalid option, an unreachable key source: exit 2', async () => {
    const token = createAssertion({ issuer: 'app-1', subject: 'app-1', audience: AS, key: other });
    const missing = await cli(['check', '--config', 'nowhere.js', token]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot load configuration nowhere.js');
    writeFileSync(join(dir, 'bad.config.js'), `module.exports = { clients: [], clockTolerance: -1 };`);
    const bad = await cli(['check', '--config', 'bad.config.js', token]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/is invalid: jwt-bearer: option "(issuer|clockTolerance)"/);
    writeFileSync(
      join(dir, 'down.config.js'),
      `module.exports = { issuer: ${JSON.stringify(AS)}, clients: [{ clientId: 'app-1', jwksUri: 'http://127.0.0.1:1/jwks' }] };`,
    );
    const down = await cli(['check', '--config', 'down.config.js', token, '--json']);
    expect(down.code).toBe(2);
    expect(json(down)).toMatchObject({ status: 503, code: 'ERR_KEY_SOURCE_UNAVAILABLE' });
  });
});

describe('metadata', () => {
  test("the configured middleware's own metadata, merged, from a CommonJS and an ES module", async () => {
    const run = await cli(['metadata', '--config', 'jwt-bearer.config.js']);
    expect(run.code).toBe(0);
    expect(json(run)).toEqual({
      grant_types_supported: ['urn:ietf:params:oauth:grant-type:jwt-bearer'],
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      // The one registered client has an EC P-256 key: ES256 is all it can use.
      token_endpoint_auth_signing_alg_values_supported: ['ES256'],
    });
    // Exactly what the middleware the app builds from the same module says.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const options = require(join(dir, 'jwt-bearer.config.js')) as {
      grant: Parameters<typeof jwtBearerGrant>[0];
      client: Parameters<typeof clientAssertion>[0];
    };
    expect(json(run)).toEqual(mergeMetadata(jwtBearerGrant(options.grant).metadata, clientAssertion(options.client).metadata));
    writeFileSync(
      join(dir, 'hs.config.mjs'),
      `export default { issuer: ${JSON.stringify(AS)}, algorithms: ['HS256', 'ES256'], clients: [{ clientId: 'a', clientSecret: '${'s'.repeat(32)}' }] };\n`,
    );
    const esm = await cli(['metadata', '--config', 'hs.config.mjs']);
    expect(esm.code).toBe(0);
    expect(json(esm)).toEqual({ token_endpoint_auth_methods_supported: ['client_secret_jwt'], token_endpoint_auth_signing_alg_values_supported: ['HS256'] });
  });
});

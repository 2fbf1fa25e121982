/**
 * Interop with golang.org/x/oauth2's `jwt` package 0.3.0 (Go; Debian's golang-golang-x-oauth2-dev
 * with golang-go 1.19), unmodified: go_oauth2_client.go is built in GOPATH mode against Debian's
 * source tree and run as a child process against both example apps over real HTTP.
 *
 * What it sends (jwt/jwt.go and jws/jws.go; checked below from its own requests): the jwt-bearer
 * grant only (the package has no JWT client authentication), header { alg: RS256, typ: JWT } plus
 * `kid` = `Config.PrivateKeyID` when set; claims iss = `Config.Email`, scope = the space-separated
 * `Scopes`, aud = `TokenURL` unless `Config.Audience` is set, iat = now − 10 s, exp = iat + 1 h,
 * sub and its old name prn only with `Subject`, no jti. So the trusted issuer needs
 * `requireSubject: false` (or a `Subject`), and either `Config.Audience` = the server's issuer
 * identifier or the token endpoint URL in the grant's `audiences`.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { JWT_BEARER_GRANT_TYPE, type TrustedIssuer } from 'jwt-bearer-core';
import { FRAMEWORKS, runClientScript, sharedDemoKeys, startExample, type Example } from './helpers';

/** Debian's Go toolchain, and the GOPATH where Debian installs golang.org/x/oauth2's source. */
const GO = '/usr/bin/go';
const GOPATH = '/usr/share/gocode';
const SOURCE = join(__dirname, 'go_oauth2_client.go');

const EMAIL = 'go-service@example.test';
const SUBJECT = 'alice@example.com';
const SCOPES = ['read', 'write'];

// One Go build (about 5 s with a cold cache on 2 cores) and a few RSA signatures per test.
jest.setTimeout(90_000);

const serviceKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = (key: typeof serviceKey.privateKey) => key.export({ type: 'pkcs8', format: 'pem' }).toString();

interface Step {
  step: string;
  access_token?: string;
  token_type?: string;
  status?: number;
  error?: string;
  failure?: string;
  grant_type?: string;
  assertion?: { header: Record<string, unknown>; claims: Record<string, unknown> };
  requests: number;
}

const issuer: TrustedIssuer = {
  issuer: EMAIL,
  publicKey: serviceKey.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  algorithms: ['RS256'],
  requireSubject: false,
  subjects: [EMAIL, SUBJECT],
  scopes: SCOPES,
};

let workDir: string;
let binary: string;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'jwt-bearer-go-'));
  binary = join(workDir, 'go-oauth2-client');
  // GOPATH mode: the imports resolve to Debian's packaged source, nothing is downloaded. Without
  // cgo, no C compiler is needed (golang-go only recommends gcc).
  await promisify(execFile)(GO, ['build', '-o', binary, SOURCE], {
    timeout: 80_000,
    env: { ...process.env, GO111MODULE: 'off', GOPATH, GOCACHE: join(workDir, 'cache'), GOFLAGS: '', CGO_ENABLED: '0' },
  });
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function runGoClient(example: Example): Promise<Record<string, Step>> {
  return runClientScript<Step>(binary, undefined, {
    token_endpoint: example.tokenEndpoint,
    issuer: example.issuer,
    email: EMAIL,
    private_key: pem(serviceKey.privateKey),
    other_key: pem(otherKey.privateKey),
    scopes: SCOPES,
    subject: SUBJECT,
  });
}

describe.each(FRAMEWORKS)('golang.org/x/oauth2 jwt.Config against the %s example', (framework) => {
  test('strict audience (the default): Config.Audience = issuer gets tokens, its default aud (the token URL) is refused', async () => {
    const example = await startExample(framework, { keys: sharedDemoKeys(), issuers: [issuer] });
    try {
      const steps = await runGoClient(example);

      const own = steps.issuer_audience!;
      expect(own.failure).toBeUndefined();
      expect(own.grant_type).toBe(JWT_BEARER_GRANT_TYPE);
      expect(own.token_type).toBe('Bearer');
      // Asked twice, the package's TokenSource reused the token it got: one request.
      expect(own.requests).toBe(1);
      expect(example.as.lookup(own.access_token!)).toMatchObject({ grant_type: JWT_BEARER_GRANT_TYPE, sub: EMAIL, assertion_issuer: EMAIL, scope: SCOPES });
      const { header, claims } = own.assertion!;
      expect(header).toEqual({ alg: 'RS256', typ: 'JWT' });
      expect(claims).toMatchObject({ iss: EMAIL, aud: example.issuer, scope: SCOPES.join(' ') });
      expect(Object.keys(claims).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'scope']);
      expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
      // iat is backdated by 10 s.
      expect(claims.iat as number).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) - 10);

      const delegation = steps.delegation!;
      expect(example.as.lookup(delegation.access_token!)).toMatchObject({ sub: SUBJECT, assertion_issuer: EMAIL, scope: SCOPES });
      expect(delegation.assertion!.header).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'go-key-1' });
      expect(delegation.assertion!.claims).toMatchObject({ sub: SUBJECT, prn: SUBJECT });

      const tokenUrl = steps.token_url_audience!;
      expect(tokenUrl.assertion!.claims.aud).toBe(example.tokenEndpoint);
      expect(tokenUrl).toMatchObject({ status: 400, error: 'invalid_grant' });
      expect(tokenUrl.access_token).toBeUndefined();
      expect(example.logs.some((l) => l.includes('ERR_AUDIENCE_INVALID'))).toBe(true);

      const other = steps.other_key!;
      expect(other).toMatchObject({ status: 400, error: 'invalid_grant' });
      expect(example.logs.some((l) => l.includes('ERR_SIGNATURE_INVALID') && l.includes(EMAIL))).toBe(true);
    } finally {
      await example.close();
    }
  });

  test('the token endpoint URL in audiences: the package defaults work unchanged', async () => {
    const example = await startExample(framework, (iss) => ({ keys: sharedDemoKeys(), issuers: [issuer], audiences: [`${iss}/token`] }));
    try {
      const steps = await runGoClient(example);
      const tokenUrl = steps.token_url_audience!;
      expect(tokenUrl.error).toBeUndefined();
      expect(tokenUrl.assertion!.claims.aud).toBe(example.tokenEndpoint);
      expect(example.as.lookup(tokenUrl.access_token!)).toMatchObject({ grant_type: JWT_BEARER_GRANT_TYPE, sub: EMAIL, scope: SCOPES });
      expect(example.as.lookup(steps.issuer_audience!.access_token!)).toMatchObject({ sub: EMAIL });
      expect(steps.other_key).toMatchObject({ status: 400, error: 'invalid_grant' });
    } finally {
      await example.close();
    }
  });
});

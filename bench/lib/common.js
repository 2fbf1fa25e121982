'use strict';
// Shared helpers of the benchmarks: keys, minting assertions, the hand-written verification
// pipeline every figure is compared with, statistics and formatting. Plain CommonJS on the built
// packages (packages/*/dist), so no TypeScript tooling is needed at run time.

const crypto = require('node:crypto');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const CLIENT_ID = 'bench-client';
const KID = 'bench-key-1';

/** Requires a dependency as the package that depends on it sees it (npm workspaces hoist them). */
function requireFrom(pkg, name) {
  const base = path.dirname(require.resolve(`${pkg}/package.json`, { paths: [ROOT] }));
  return require(require.resolve(name, { paths: [base] }));
}

/** Version of an installed package, as resolved from the repository root. */
function versionOf(name, from) {
  const fs = require('node:fs');
  try {
    let dir = from ? path.dirname(require.resolve(`${from}/package.json`, { paths: [ROOT] })) : ROOT;
    // Walk up node_modules as Node's resolution does (some packages do not export package.json).
    for (;;) {
      const file = path.join(dir, 'node_modules', name, 'package.json');
      if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')).version;
      if (fs.existsSync(path.join(dir, 'package.json')) && JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name === name) {
        return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
      }
      const up = path.dirname(dir);
      if (up === dir) return 'n/a';
      dir = up;
    }
  } catch {
    return 'n/a';
  }
}

// ---------------------------------------------------------------------------------------------
// Algorithms: how to sign (minting) and verify (the floor and the hand-written pipeline).

const ALGS = {
  RS256: { gen: ['rsa', { modulusLength: 2048 }], hash: 'sha256', sign: (k) => k, vkey: (k) => k },
  PS256: {
    gen: ['rsa', { modulusLength: 2048 }],
    hash: 'sha256',
    sign: (k) => ({ key: k, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: crypto.constants.RSA_PSS_SALTLEN_DIGEST }),
    vkey: (k) => ({ key: k, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: crypto.constants.RSA_PSS_SALTLEN_DIGEST }),
  },
  ES256: {
    gen: ['ec', { namedCurve: 'P-256' }],
    hash: 'sha256',
    sign: (k) => ({ key: k, dsaEncoding: 'ieee-p1363' }),
    vkey: (k) => ({ key: k, dsaEncoding: 'ieee-p1363' }),
  },
  EdDSA: { gen: ['ed25519', {}], hash: null, sign: (k) => k, vkey: (k) => k },
  HS256: { secret: 32, hash: 'sha256' },
};

/** A key pair (or secret) for `alg`, with what registrations and signers need. */
function makeKey(alg) {
  const spec = ALGS[alg];
  if (spec.secret) {
    const raw = crypto.randomBytes(spec.secret);
    const secret = crypto.createSecretKey(raw);
    return { alg, kid: KID, secretRaw: raw, privateKey: secret, publicKey: secret, publicJwk: undefined };
  }
  const { privateKey, publicKey } = crypto.generateKeyPairSync(spec.gen[0], spec.gen[1]);
  const publicJwk = { ...publicKey.export({ format: 'jwk' }), kid: KID, use: 'sig', alg };
  return { alg, kid: KID, privateKey, publicKey, publicJwk };
}

/** The key of a pair as JWKs, to hand it to another process or thread. */
function exportKey(key) {
  if (key.secretRaw) return { alg: key.alg, kid: key.kid, secret: key.secretRaw.toString('base64') };
  return { alg: key.alg, kid: key.kid, privateJwk: key.privateKey.export({ format: 'jwk' }), publicJwk: key.publicJwk };
}

function importKey(exported) {
  if (exported.secret) {
    const raw = Buffer.from(exported.secret, 'base64');
    const secret = crypto.createSecretKey(raw);
    return { alg: exported.alg, kid: exported.kid, secretRaw: raw, privateKey: secret, publicKey: secret };
  }
  return {
    alg: exported.alg,
    kid: exported.kid,
    privateKey: crypto.createPrivateKey({ key: exported.privateJwk, format: 'jwk' }),
    publicKey: crypto.createPublicKey({ key: exported.publicJwk, format: 'jwk' }),
    publicJwk: exported.publicJwk,
  };
}

const b64 = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');

/**
 * Signs a compact JWS the way createAssertion() does (same header and claim layout), with
 * node:crypto directly, because minting tens of thousands of RS256 assertions is the slow part of
 * a run. Claims: iss = sub = the client id, aud = `audience`, exp, iat, a fresh jti.
 */
function mint(key, audience, options = {}) {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: key.alg, typ: 'JWT', kid: options.kid ?? key.kid };
  const payload = {
    iss: options.issuer ?? CLIENT_ID,
    sub: options.subject ?? CLIENT_ID,
    aud: audience,
    exp: now + (options.expiresIn ?? 600),
    iat: now,
    jti: crypto.randomUUID(),
  };
  const input = `${b64(header)}.${b64(payload)}`;
  const spec = ALGS[key.alg];
  const sig = spec.secret
    ? crypto.createHmac(spec.hash, key.privateKey).update(input).digest()
    : crypto.sign(spec.hash, Buffer.from(input), spec.sign(key.privateKey));
  return `${input}.${sig.toString('base64url')}`;
}

/** Pre-decoded signing input and signature, for the raw crypto.verify floor. */
function split(token) {
  const dot = token.lastIndexOf('.');
  return { input: Buffer.from(token.slice(0, dot)), signature: Buffer.from(token.slice(dot + 1), 'base64url') };
}

/** The floor: one signature check with a KeyObject on already-decoded parts. */
function rawVerifier(key) {
  const spec = ALGS[key.alg];
  if (spec.secret) {
    return (input, signature) => {
      const mac = crypto.createHmac(spec.hash, key.publicKey).update(input).digest();
      return signature.length === mac.length && crypto.timingSafeEqual(mac, signature);
    };
  }
  const vkey = spec.vkey(key.publicKey);
  return (input, signature) => crypto.verify(spec.hash, input, vkey, signature);
}

class Refused extends Error {}

/**
 * The hand-written pipeline the targets are measured against: what an engineer writes without a
 * library — split, base64url + JSON decode, `alg`/`kid` check, crypto.verify with a KeyObject,
 * iss/sub/aud/exp/nbf/iat checks, and a set-if-absent jti check in a Map (a token endpoint must
 * refuse replays). Synchronous; throws `Refused`.
 */
function handWritten(key, { audience, clientId = CLIENT_ID, tolerance = 30, maxLifetime = 600 } = {}) {
  const verifySig = rawVerifier(key);
  const seen = new Map();
  const fn = function verifyAssertion(token) {
    const a = token.indexOf('.');
    const b = token.indexOf('.', a + 1);
    if (a < 0 || b < 0 || token.indexOf('.', b + 1) >= 0) throw new Refused('malformed');
    const header = JSON.parse(Buffer.from(token.slice(0, a), 'base64url').toString('utf8'));
    if (header.alg !== key.alg || (header.kid !== undefined && header.kid !== key.kid)) throw new Refused('alg/kid');
    const payload = JSON.parse(Buffer.from(token.slice(a + 1, b), 'base64url').toString('utf8'));
    if (!verifySig(Buffer.from(token.slice(0, b), 'latin1'), Buffer.from(token.slice(b + 1), 'base64url'))) throw new Refused('signature');
    const now = Date.now() / 1000;
    if (payload.iss !== clientId || payload.sub !== clientId) throw new Refused('iss/sub');
    const aud = payload.aud;
    if (!(aud === audience || (Array.isArray(aud) && aud.length === 1 && aud[0] === audience))) throw new Refused('aud');
    if (typeof payload.exp !== 'number' || now >= payload.exp + tolerance) throw new Refused('exp');
    if (payload.nbf !== undefined && !(typeof payload.nbf === 'number' && payload.nbf <= now + tolerance)) throw new Refused('nbf');
    if (payload.iat !== undefined && !(typeof payload.iat === 'number' && payload.iat <= now + tolerance && now - payload.iat <= maxLifetime + tolerance)) {
      throw new Refused('iat');
    }
    const jti = payload.jti;
    if (typeof jti !== 'string' || jti === '') throw new Refused('jti');
    const k = `${payload.iss}\u0000${jti}`;
    if (seen.has(k)) throw new Refused('replay');
    seen.set(k, payload.exp);
    return payload;
  };
  fn.seen = seen;
  return fn;
}

// ---------------------------------------------------------------------------------------------
// Statistics and formatting.

function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((x, y) => x - y);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

function fmtInt(n) {
  if (!Number.isFinite(n)) return 'n/a';
  return Math.round(n).toLocaleString('en-US');
}

function fmtRatio(r) {
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a';
}

function fmtBytes(n) {
  if (!Number.isFinite(n)) return 'n/a';
  if (Math.abs(n) >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  if (Math.abs(n) >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${Math.round(n)} B`;
}

/** A plain-text table (also valid GitHub Markdown). */
function table(head, rows) {
  const all = [head, ...rows].map((r) => r.map((c) => String(c)));
  const width = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => (i === 0 ? c.padEnd(width[i]) : c.padStart(width[i]))).join(' | ')} |`;
  const sep = `|${width.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(all[0]), sep, ...all.slice(1).map(line)].join('\n');
}

const log = (...args) => process.stderr.write(`${args.join(' ')}\n`);

module.exports = {
  ROOT,
  CLIENT_ASSERTION_TYPE,
  GRANT_TYPE,
  CLIENT_ID,
  KID,
  ALGS,
  requireFrom,
  versionOf,
  makeKey,
  exportKey,
  importKey,
  mint,
  split,
  rawVerifier,
  handWritten,
  Refused,
  median,
  fmtInt,
  fmtRatio,
  fmtBytes,
  table,
  log,
};

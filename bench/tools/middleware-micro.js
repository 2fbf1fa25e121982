'use strict';
// A precise tool for optimising the adapters (not part of `npm run bench`): calls the adapter
// middleware and the equivalent hand-written route directly, in a loop, with fake request /
// response objects (a Readable carrying the form body). No sockets, no HTTP parser, no response
// writing: what remains is exactly the per-request JavaScript of the route, so the difference
// between the two is the middleware's overhead, in µs.
//
//   node --expose-gc bench/tools/middleware-micro.js [alg=HS256|RS256|ES256] [trials] [n]

const crypto = require('node:crypto');
const { Readable } = require('node:stream');
const c = require('../lib/common');
const core = require('jwt-bearer-core');
const express = require('express-jwt-bearer');
const koa = require('koa-jwt-bearer');

const [alg = 'HS256', trialsArg = '9', nArg = '20000'] = process.argv.slice(2);
const TRIALS = Number(trialsArg);
const N = Number(nArg);
const ISSUER = 'https://as.example.com';
const FORM = 'application/x-www-form-urlencoded';

function fakeReq(body) {
  const buf = Buffer.from(body);
  let sent = false;
  const req = new Readable({
    read() {
      if (sent) return;
      sent = true;
      this.push(buf);
      this.push(null);
    },
  });
  req.headers = { host: '127.0.0.1', 'content-type': FORM, 'content-length': String(buf.length) };
  req.method = 'POST';
  return req;
}

function fakeRes(done) {
  const res = {
    statusCode: 200,
    headersSent: false,
    status(s) {
      this.statusCode = s;
      return this;
    },
    set() {
      return this;
    },
    json(body) {
      JSON.stringify(body);
      done(this.statusCode);
    },
    send() {
      done(this.statusCode);
    },
  };
  return res;
}

function fakeCtx(req) {
  return {
    req,
    request: {},
    state: {},
    headers: req.headers,
    status: 404,
    body: undefined,
    set() {},
    set type(_v) {},
  };
}

async function main() {
  const key = c.makeKey(alg);
  const reg = key.secretRaw ? { clientSecret: key.secretRaw } : { jwks: { keys: [key.publicJwk] } };
  const tokens = Array.from({ length: N }, () => c.mint(key, ISSUER));
  const bodies = tokens.map((t) => `grant_type=client_credentials&client_assertion_type=${encodeURIComponent(c.CLIENT_ASSERTION_TYPE)}&client_assertion=${t}`);
  const issue = (sub) => ({ access_token: crypto.randomBytes(32).toString('base64url'), token_type: 'Bearer', expires_in: 3600, sub });
  const readForm = (req) =>
    new Promise((resolve, reject) => {
      const chunks = [];
      req.on('data', (d) => chunks.push(d));
      req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
      req.on('error', reject);
    });

  const variants = {
    'hand-written': () => {
      const verify = c.handWritten(key, { audience: ISSUER });
      return async (body) => {
        const form = await readForm(fakeReq(body));
        if (form.get('client_assertion_type') !== c.CLIENT_ASSERTION_TYPE) throw new Error('type');
        const payload = verify(form.get('client_assertion'));
        if (form.get('grant_type') !== 'client_credentials') throw new Error('grant');
        JSON.stringify(issue(payload.sub));
      };
    },
    'core authenticate (form parsed by hand)': () => {
      const auth = core.createClientAuthenticator({
        issuer: ISSUER,
        clients: [{ clientId: c.CLIENT_ID, ...reg }],
        replayStore: new core.MemoryReplayStore({ max: N + 10 }),
      });
      return async (body) => {
        const form = await readForm(fakeReq(body));
        const client = await auth.authenticate({ body: Object.fromEntries(form), headers: {} });
        if (form.get('grant_type') !== 'client_credentials') throw new Error('grant');
        JSON.stringify(issue(client.clientId));
      };
    },
    'express clientAssertion': () => {
      const mw = express.clientAssertion({
        issuer: ISSUER,
        clients: [{ clientId: c.CLIENT_ID, ...reg }],
        replayStore: new core.MemoryReplayStore({ max: N + 10 }),
      });
      return (body) =>
        new Promise((resolve, reject) => {
          const req = fakeReq(body);
          const res = fakeRes((status) => (status === 200 ? resolve() : reject(new Error(`status ${status}`))));
          mw(req, res, (err) => {
            if (err) return reject(err);
            if (req.body.grant_type !== 'client_credentials') return reject(new Error('grant'));
            res.status(200).set({}).json(issue(req.jwtBearer.client.clientId));
          });
        });
    },
    'koa clientAssertion': () => {
      const mw = koa.clientAssertion({
        issuer: ISSUER,
        clients: [{ clientId: c.CLIENT_ID, ...reg }],
        replayStore: new core.MemoryReplayStore({ max: N + 10 }),
      });
      return async (body) => {
        const ctx = fakeCtx(fakeReq(body));
        await mw(ctx, async () => {
          if (ctx.request.body.grant_type !== 'client_credentials') throw new Error('grant');
          ctx.status = 200;
          ctx.body = issue(ctx.state.jwtBearer.client.clientId);
          JSON.stringify(ctx.body);
        });
        if (ctx.status !== 200) throw new Error(`status ${ctx.status}`);
      };
    },
  };

  const names = Object.keys(variants).filter((n) => n === 'hand-written' || new RegExp(process.env.MICRO_ONLY ?? '.').test(n));
  const times = Object.fromEntries(names.map((n) => [n, []]));
  for (let trial = 0; trial <= TRIALS; trial++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + trial) % names.length];
      const fn = variants[name]();
      global.gc?.();
      const t0 = process.hrtime.bigint();
      for (let j = 0; j < N; j++) await fn(bodies[j]);
      const us = Number(process.hrtime.bigint() - t0) / 1e3 / N;
      if (trial > 0) times[name].push(us);
    }
  }
  const base = times['hand-written'];
  console.log(`${alg}, ${N} requests per trial, median of ${TRIALS} trials`);
  for (const n of names) {
    const t = times[n];
    console.log(
      `${n.padEnd(40)} ${c.median(t).toFixed(2).padStart(7)} µs   +${c.median(t.map((x, i) => x - base[i])).toFixed(2)} µs over hand-written   [${t.map((x) => x.toFixed(1)).join(' ')}]`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

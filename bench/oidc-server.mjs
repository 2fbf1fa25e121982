// The peer: node oidc-provider's token endpoint with private_key_jwt + client_credentials, in a
// child process of run.js. oidc-provider 9 is ESM-only, hence this .mjs and the dynamic import.
// In-memory adapter (the default), one client registered with token_endpoint_auth_method
// 'private_key_jwt' and the same public JWK as our servers. Its issuer identifier is
// http://127.0.0.1:<port>, which is also the `issuer` of our servers, so the very same assertions
// (aud = that issuer) are accepted by both.

import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, 'package.json'));

const { publicJwk, clientId } = JSON.parse(process.env.BENCH_OIDC_CONFIG);

const server = http.createServer();
server.keepAliveTimeout = 30_000;
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = server.address().port;
const issuer = `http://127.0.0.1:${port}`;

const { default: Provider } = await import('oidc-provider');
const signing = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: publicJwk.alg,
      jwks: { keys: [publicJwk] },
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
  ],
  features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
  jwks: { keys: [{ ...signing, kid: 'provider-signing', use: 'sig', alg: 'RS256' }] },
  cookies: { keys: ['bench-cookie-key'] },
  ttl: { ClientCredentials: 3600 },
  // The in-memory adapter is the default; no `adapter` option.
});
provider.on('server_error', (ctx, err) => console.error('oidc-provider server_error', err));
server.on('request', provider.callback());

process.on('message', (msg) => {
  if (msg?.cmd === 'cpu') {
    process.send({ type: 'cpu', id: msg.id, usage: process.cpuUsage() });
  } else if (msg?.cmd === 'exit') {
    server.closeAllConnections?.();
    setImmediate(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'ready', port, issuer, version: require('oidc-provider/package.json').version });

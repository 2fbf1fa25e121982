/**
 * A workload authenticating with its platform's token instead of a stored secret (workload
 * identity federation), end to end on 127.0.0.1:
 *
 *   npm run build && node examples/dist/workload-federation.js
 *
 * 1. A "cluster": a Kubernetes-style service-account issuer that publishes its OpenID Connect
 *    discovery document and key set (as `kubectl get --raw /.well-known/openid-configuration`
 *    shows on a real cluster with service-account issuer discovery on).
 * 2. An Express authorization server whose `clientAssertion()` trusts that issuer through
 *    `federation: [{ issuer, discovery: true }]` and registers client `billing` with a
 *    federated credential for the service account `system:serviceaccount:prod:billing`.
 * 3. The workload reads its projected token (here minted as the kubelet would, with the
 *    `kubernetes.io` claims and an `aud` list naming the authorization server) and asks for a
 *    `client_credentials` token with `client_id=billing` and the token as `client_assertion`.
 *
 * Development only: the cluster's key is generated at start and kept in memory.
 */
import express from 'express';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { clientAssertion } from 'express-jwt-bearer';
import { createAssertion, JWT_BEARER_CLIENT_ASSERTION_TYPE } from 'jwt-bearer-core';

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** What the workload got back: the token endpoint's status and JSON body. */
export interface FederationDemoResult {
  status: number;
  body: Record<string, unknown>;
}

/** Runs the three parties and the one exchange; resolves the token endpoint's answer. */
export async function main(log: (line: string) => void = console.log): Promise<FederationDemoResult> {
  // 1. The cluster's service-account issuer.
  const cluster = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const clusterServer = createServer();
  const clusterIssuer = await listen(clusterServer);
  clusterServer.on('request', (req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration') {
      res.end(JSON.stringify({ issuer: clusterIssuer, jwks_uri: `${clusterIssuer}/openid/v1/jwks`, id_token_signing_alg_values_supported: ['RS256'] }));
    } else if (req.url === '/openid/v1/jwks') {
      res.end(JSON.stringify({ keys: [{ ...cluster.publicKey.export({ format: 'jwk' }), kid: 'sa-key-1', use: 'sig', alg: 'RS256' }] }));
    } else {
      res.writeHead(404).end('{}');
    }
  });

  // 2. The authorization server.
  const asServer = createServer();
  const asUrl = await listen(asServer);
  const app = express();
  app.post(
    '/token',
    express.urlencoded({ extended: false }),
    clientAssertion({
      issuer: asUrl,
      federation: [{ issuer: clusterIssuer, discovery: true, maxLifetime: 3600, allowReuse: true }],
      clients: [{ clientId: 'billing', federatedCredentials: [{ issuer: clusterIssuer, subject: 'system:serviceaccount:prod:billing', claims: {} }] }],
    }),
    (req, res) => {
      const client = req.jwtBearer!.client!;
      res.set('Cache-Control', 'no-store').json({
        access_token: `demo.${randomUUID()}`,
        token_type: 'Bearer',
        expires_in: 300,
        client_id: client.clientId,
        method: client.method,
        workload: client.federation?.subject,
      });
    },
  );
  asServer.on('request', app);

  try {
    // 3. The workload: its projected service-account token, then the token request.
    const now = Math.floor(Date.now() / 1000);
    const projected = createAssertion({
      issuer: clusterIssuer,
      subject: 'system:serviceaccount:prod:billing',
      audience: [asUrl],
      key: cluster.privateKey,
      keyId: 'sa-key-1',
      expiresIn: 3600,
      notBefore: now,
      claims: {
        'kubernetes.io': {
          namespace: 'prod',
          pod: { name: 'billing-7c9d8f6b5-x2k4q', uid: randomUUID() },
          serviceaccount: { name: 'billing', uid: randomUUID() },
          warnafter: now + 2880,
        },
      },
    });
    const response = await fetch(`${asUrl}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'billing',
        client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE,
        client_assertion: projected,
      }),
    });
    const body = (await response.json()) as Record<string, unknown>;
    log(`cluster issuer ${clusterIssuer}, authorization server ${asUrl}`);
    log(`POST /token as billing with its service-account token → ${response.status} ${JSON.stringify(body)}`);
    return { status: response.status, body };
  } finally {
    await Promise.all([close(asServer), close(clusterServer)]);
  }
}

if (require.main === module) {
  main().then(
    (result) => process.exit(result.status === 200 ? 0 : 1),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}

/** Keys, parties and helpers both integration suites share. */
import { generateKeyPairSync } from 'node:crypto';
import type { Server } from 'node:http';

const ec = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
/** A service trusted for plain jwt-bearer grants, an enterprise IdP trusted for ID-JAGs, two private_key_jwt clients. */
export const service = ec();
export const idp = ec();
export const keyClient = ec();
export const otherKeyClient = ec();
export const SERVICE = 'https://service.example.com';
export const IDP = 'https://idp.example.com';
export const RESOURCE = 'https://api.example.com/';

/** RFC 6749 §2.3.1 client_secret_basic (form-urlencoded id and secret). */
export const basic = (id: string, secret: string): string =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/** Closes a server and its keep-alive connections. */
export const close = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

/** Whether a response's `expires_in` is the configured lifetime: computed from the expiry at response time, it may be one second less. */
export const lifetime = (value: unknown, seconds: number): boolean => value === seconds || value === seconds - 1;

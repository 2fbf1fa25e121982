import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ClientMiddlewareOptions, GrantMiddlewareOptions } from 'jwt-bearer-core';
import { UsageError } from './io';

/** The options a configuration module gives, per use. */
export interface LoadedConfig {
  file: string;
  grant?: GrantMiddlewareOptions<unknown>;
  client?: ClientMiddlewareOptions;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Loads the app's configuration module: the very options object it passes to `jwtBearerGrant()` /
 * `clientAssertion()` (or to the core's factories). The module (CommonJS, ES module, or JSON)
 * exports, as `module.exports` or as its default export, either `{ grant, client }` (either may
 * be absent) or one options object: with `issuers` it is the grant's, with `clients` the client
 * authentication's.
 */
export function loadConfig(file: string): LoadedConfig {
  const path = resolve(file);
  let loaded: unknown;
  try {
    // require() also loads ES modules on the Node versions this package supports (20.19+).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = path.endsWith('.json') ? JSON.parse(readFileSync(path, 'utf8')) : require(path);
  } catch (err) {
    throw new UsageError(`cannot load configuration ${file}: ${(err as Error).message.split('\n')[0]}`);
  }
  const candidates = isObject(loaded) && isObject(loaded.default) ? [loaded.default, loaded] : [loaded];
  for (const value of candidates) {
    if (!isObject(value)) continue;
    if (isObject(value.grant) || isObject(value.client)) {
      return {
        file,
        ...(isObject(value.grant) ? { grant: value.grant as unknown as GrantMiddlewareOptions<unknown> } : {}),
        ...(isObject(value.client) ? { client: value.client as unknown as ClientMiddlewareOptions } : {}),
      };
    }
    if ('issuers' in value) return { file, grant: value as unknown as GrantMiddlewareOptions<unknown> };
    if ('clients' in value) return { file, client: value as unknown as ClientMiddlewareOptions };
  }
  throw new UsageError(`configuration ${file} exports neither { grant, client } nor an options object with issuers or clients`);
}

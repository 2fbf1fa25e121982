import {
  createClientAuthenticator,
  createGrantVerifier,
  mergeMetadata,
  splitClientOptions,
  splitGrantOptions,
  type ClientMiddlewareOptions,
  type GrantMiddlewareOptions,
} from 'jwt-bearer-core';
import { loadConfig } from '../config';
import { EXIT, option, parse, print, UsageError, type Io } from '../io';

export const METADATA_HELP = `Usage: jwt-bearer metadata --config FILE [--json]

Prints, as JSON, the \`metadata\` of the middleware the configuration builds: the RFC 8414
authorization server metadata its options enforce, to merge into the server's discovery
document (grant_types_supported, authorization_grant_profiles_supported,
token_endpoint_auth_methods_supported, token_endpoint_auth_signing_alg_values_supported,
dpop_signing_alg_values_supported), the grant's and the client authentication's merged.

  --config FILE   the configuration module, as for jwt-bearer check
  --json          JSON output (the default for this command)
`;

/**
 * The `metadata` of the middleware the configuration builds: each factory of jwt-bearer-core
 * (the same the adapters call, whose middleware exposes it as `.metadata`) says what its options
 * enforce; the grant's and the client authentication's are merged.
 */
export function metadataOf(grant: GrantMiddlewareOptions<unknown> | undefined, client: ClientMiddlewareOptions | undefined): Record<string, unknown> {
  try {
    return mergeMetadata(
      grant ? createGrantVerifier(splitGrantOptions(grant).core).metadata : undefined,
      client ? createClientAuthenticator(splitClientOptions(client).core).metadata : undefined,
    );
  } catch (err) {
    throw new UsageError(`the configuration is invalid: ${(err as Error).message}`);
  }
}

export async function metadata(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { config: { type: 'string' } });
  if (values.help) return (io.out(METADATA_HELP), EXIT.OK);
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const config = loadConfig(option(values, 'config', true));
  const result = metadataOf(config.grant, config.client);
  print(io, true, result, () => '');
  return EXIT.OK;
}

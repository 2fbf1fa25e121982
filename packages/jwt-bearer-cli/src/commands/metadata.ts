import { JWT_BEARER_GRANT_TYPE, SUPPORTED_ALGORITHMS, type Algorithm, type ClientMiddlewareOptions, type GrantMiddlewareOptions } from 'jwt-bearer-core';
import { loadConfig } from '../config';
import { EXIT, option, parse, print, UsageError, type Io } from '../io';

export const METADATA_HELP = `Usage: jwt-bearer metadata --config FILE [--json]

Prints the RFC 8414 authorization server metadata that the configuration implies, as JSON, to
merge into the server's discovery document:

  grant_types_supported                               the jwt-bearer grant, when grants are configured
  token_endpoint_auth_methods_supported               private_key_jwt and/or client_secret_jwt,
                                                      from the registered clients' key sources
  token_endpoint_auth_signing_alg_values_supported    the algorithms those methods accept

  --config FILE   the configuration module, as for jwt-bearer check
  --json          JSON output (the default for this command)
`;

type Metadata = Record<string, string[]>;

const isSecret = (alg: Algorithm) => alg.startsWith('HS');

/** The RFC 8414 fields the options imply. */
export function metadataOf(grant: GrantMiddlewareOptions<unknown> | undefined, client: ClientMiddlewareOptions | undefined): Metadata {
  const metadata: Metadata = {};
  if (grant) metadata.grant_types_supported = [JWT_BEARER_GRANT_TYPE];
  if (client) {
    let publicKeys = true;
    let secrets = true;
    // A lookup function may answer either kind; a list says exactly which it holds.
    if (Array.isArray(client.clients)) {
      publicKeys = client.clients.some((c) => c.clientSecret === undefined);
      secrets = client.clients.some((c) => c.clientSecret !== undefined);
    }
    const methods = [...(publicKeys ? ['private_key_jwt'] : []), ...(secrets ? ['client_secret_jwt'] : [])];
    const algorithms = (client.algorithms ?? SUPPORTED_ALGORITHMS).filter((alg) => (isSecret(alg) ? secrets : publicKeys));
    metadata.token_endpoint_auth_methods_supported = methods;
    metadata.token_endpoint_auth_signing_alg_values_supported = [...algorithms];
  }
  return metadata;
}

export async function metadata(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { config: { type: 'string' } });
  if (values.help) return io.out(METADATA_HELP), EXIT.OK;
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const config = loadConfig(option(values, 'config', true));
  const result = metadataOf(config.grant, config.client);
  print(io, true, result, () => '');
  return EXIT.OK;
}

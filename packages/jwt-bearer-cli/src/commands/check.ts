import {
  createClientAuthenticator,
  createGrantVerifier,
  isOAuthError,
  JWT_BEARER_CLIENT_ASSERTION_TYPE,
  JWT_BEARER_GRANT_TYPE,
  splitClientOptions,
  splitGrantOptions,
  type ClientPrincipal,
  type GrantPrincipal,
  type RejectionEvent,
  type ReplayStore,
  type WarningEvent,
} from 'jwt-bearer-core';
import { loadConfig } from '../config';
import { EXIT, option, parse, print, tokenArgument, UsageError, type Io } from '../io';
import { decode } from '../jwt';
import { formatFindings, STEPS, stepOf, type Finding } from '../steps';

export const CHECK_HELP = `Usage: jwt-bearer check --config FILE TOKEN [--client | --grant] [--client-id ID] [--scope SCOPE] [--json]

Runs the middleware's own verification (jwt-bearer-core) on TOKEN with the options your app
uses, and prints each step with pass, or the exact error code and private detail of the step
that refuses it. Keys are fetched as the server would (jwksUri, lookups).

The jti is NEVER consumed: check runs with a replay store that is never written, so the same
assertion can still be used afterwards. For the same reason it cannot tell whether the jti was
already used. Your onError / onSuccess / onWarning hooks are not called.

  --config FILE      the configuration module (CommonJS, ES module or JSON) exporting the
                     options object of jwtBearerGrant() / clientAssertion(): { grant, client },
                     or one options object (with issuers: grant; with clients: client)
  TOKEN              the assertion, or - to read it from standard input
  --client | --grant which use to check (default: the only one configured, else client when
                     iss equals sub)
  --client-id ID     grant: the client the request was authenticated as (GrantContext.clientId)
  --scope SCOPE      grant: the scope parameter of the request
  --json             print { use, accepted, status, code, detail, steps, principal, warnings }

Exit code: 0 accepted, 1 refused, 2 bad usage, a configuration that cannot be loaded or is
invalid, or a server-side failure (a key source or lookup that fails: 5xx).
`;

/** A replay store that never records anything: check must not burn the jti it checks. */
class NeverWrittenReplayStore implements ReplayStore {
  claim(): Promise<boolean> {
    return Promise.resolve(true);
  }
}

export async function check(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    config: { type: 'string' },
    client: { type: 'boolean' },
    grant: { type: 'boolean' },
    'client-id': { type: 'string' },
    scope: { type: 'string' },
  });
  if (values.help) return (io.out(CHECK_HELP), EXIT.OK);
  if (values.client && values.grant) throw new UsageError('--client and --grant exclude each other');
  const config = loadConfig(option(values, 'config', true));
  const token = await tokenArgument(io, positionals);
  const claims = decode(token)?.claims;
  let use: 'grant' | 'client';
  if (values.client) use = 'client';
  else if (values.grant) use = 'grant';
  else if (config.grant && config.client) use = claims && claims.iss !== undefined && claims.iss === claims.sub ? 'client' : 'grant';
  else use = config.grant ? 'grant' : 'client';
  if (use === 'grant' && !config.grant) throw new UsageError(`configuration ${config.file} has no grant options`);
  if (use === 'client' && !config.client) throw new UsageError(`configuration ${config.file} has no client options`);

  let rejection: RejectionEvent | undefined;
  const warnings: WarningEvent[] = [];
  const hooks = {
    replayStore: new NeverWrittenReplayStore(),
    onError: (event: RejectionEvent) => void (rejection = event),
    onWarning: (event: WarningEvent) => void warnings.push(event),
    onSuccess: () => undefined,
  };
  let verify: () => Promise<GrantPrincipal | ClientPrincipal | undefined>;
  try {
    if (use === 'grant') {
      // The adapters' own split: middleware-only options (issueToken, …) are set aside the same way.
      const verifier = createGrantVerifier({ ...splitGrantOptions(config.grant!).core, ...hooks });
      const clientId = option(values, 'client-id');
      const body = { grant_type: JWT_BEARER_GRANT_TYPE, assertion: token, ...(values.scope !== undefined ? { scope: values.scope as string } : {}) };
      verify = () => verifier.verify({ body, headers: {} }, clientId === undefined ? undefined : { clientId });
    } else {
      const authenticator = createClientAuthenticator({ ...splitClientOptions(config.client!).core, ...hooks });
      const body = { client_assertion_type: JWT_BEARER_CLIENT_ASSERTION_TYPE, client_assertion: token };
      verify = () => authenticator.authenticate({ body, headers: {} }, { required: true });
    }
  } catch (err) {
    throw new UsageError(`configuration ${config.file} is invalid: ${(err as Error).message}`);
  }

  let principal: GrantPrincipal | ClientPrincipal | undefined;
  let failure: { status: number; error: string; code: string; detail: string | undefined } | undefined;
  try {
    principal = await verify();
  } catch (err) {
    if (!isOAuthError(err)) throw err;
    failure = { status: err.status, error: err.error, code: err.code, detail: rejection?.detail ?? err.detail };
  }

  const failedAt = failure ? stepOf(failure.code) : undefined;
  const steps: Finding[] = STEPS.map(({ step, name }): Finding => {
    if (failedAt !== undefined && step > failedAt) return { step, rule: name, result: 'skip', detail: 'not reached' };
    if (step === failedAt)
      return {
        step,
        rule: name,
        result: 'fail',
        code: failure!.code as Finding['code'],
        ...(failure!.detail !== undefined ? { detail: failure!.detail } : {}),
      };
    if (step === 6) return { step, rule: name, result: 'pass', detail: 'not recorded: check never consumes the jti, nor can it see whether it was used' };
    if (step === 7) return { step, rule: name, result: 'pass', detail: describe(principal) };
    return { step, rule: name, result: 'pass' };
  });
  for (const w of warnings) steps.push({ step: 5, rule: 'legacy allowance', result: 'warn', detail: `${w.code}: ${w.detail}` });
  steps.sort((a, b) => a.step - b.step);

  const accepted = failure === undefined;
  print(io, values.json === true, { use, config: config.file, accepted, ...(failure ?? {}), steps, ...(principal ? { principal } : {}), warnings }, () =>
    [
      `${use === 'grant' ? 'authorization grant' : 'client assertion'} checked against ${config.file}`,
      formatFindings(steps).trimEnd(),
      accepted ? 'accepted' : `refused: ${failure!.status} ${failure!.error} ${failure!.code}`,
      '',
    ].join('\n'),
  );
  if (accepted) return EXIT.OK;
  return failure!.status >= 500 ? EXIT.USAGE : EXIT.REFUSED;
}

function describe(principal: GrantPrincipal | ClientPrincipal | undefined): string {
  if (!principal) return '';
  if ('method' in principal) return `client ${JSON.stringify(principal.clientId)} (${principal.method})`;
  const scope = principal.scope.length > 0 ? `, scope ${JSON.stringify(principal.scope.join(' '))}` : '';
  const client = principal.clientId !== undefined ? `, client ${JSON.stringify(principal.clientId)}` : '';
  return `subject ${JSON.stringify(principal.subject)} of issuer ${JSON.stringify(principal.issuer)}${scope}${client}`;
}

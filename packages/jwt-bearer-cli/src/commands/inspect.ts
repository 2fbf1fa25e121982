import { SUPPORTED_ALGORITHMS, type ErrorCode } from 'jwt-bearer-core';
import { EXIT, option, parse, print, seconds, tokenArgument, UsageError, type Io } from '../io';
import { decode, relative, utc } from '../jwt';
import { formatFindings, type Finding, type StepNumber } from '../steps';

export const INSPECT_HELP = `Usage: jwt-bearer inspect TOKEN [--client | --grant] [--issuer ISSUER] [options]

Decodes an assertion WITHOUT verifying it and judges every rule that needs no key and no
configuration: form and length, alg, crit, typ, required claims, the shape of aud (RFC 10070:
a client assertion's aud is the server's issuer identifier as its sole value), exp / nbf / iat
against the clock, and the lifetime cap. Times are shown in UTC and relative to now.
Trust, key and signature, and replay need the server's configuration: use jwt-bearer check.

  TOKEN                the assertion, or - to read it from standard input
  --client | --grant   judge it as a client assertion or an authorization grant
                       (default: client when iss equals sub, grant otherwise)
  --issuer ISSUER      this server's issuer identifier: aud is then judged exactly
  --audience AUD       another value of this server for a grant's aud (option audiences); repeatable
  --max-lifetime S     lifetime cap in seconds (default 300 client, 3600 grant)
  --clock-tolerance S  seconds of leeway on exp / nbf / iat (default 30)
  --max-length N       longest assertion accepted, characters (default 16384)
  --json               print { use, header, claims, times, findings, accepted }

Exit code: 0 when nothing judged here refuses it, 1 when a rule does, 2 on bad usage.
`;

const CLIENT_TYPES = ['jwt', 'application/jwt', 'client-authentication+jwt', 'application/client-authentication+jwt'];
const GRANT_TYPES = ['jwt', 'application/jwt', 'jose', 'application/jose'];
const ID_JAG_TYPE = /^(?:application\/)?oauth-id-jag\+jwt$/i;

/** Rule collector: `check(step, rule, ok, code, detail)`. */
class Judge {
  readonly findings: Finding[] = [];
  check(step: StepNumber, rule: string, ok: boolean, code: ErrorCode, detail: string): boolean {
    this.findings.push(ok ? { step, rule, result: 'pass' } : { step, rule, result: 'fail', code, detail });
    return ok;
  }
  note(step: StepNumber, rule: string, result: 'warn' | 'skip' | 'pass', detail: string): void {
    this.findings.push({ step, rule, result, detail });
  }
}

const str = (v: unknown) => JSON.stringify(v)?.slice(0, 200);

export async function inspect(argv: string[], io: Io, nowMs: () => number = Date.now): Promise<number> {
  const { values, positionals } = parse(argv, {
    client: { type: 'boolean' },
    grant: { type: 'boolean' },
    issuer: { type: 'string' },
    audience: { type: 'string', multiple: true },
    'max-lifetime': { type: 'string' },
    'clock-tolerance': { type: 'string' },
    'max-length': { type: 'string' },
  });
  if (values.help) return (io.out(INSPECT_HELP), EXIT.OK);
  if (values.client && values.grant) throw new UsageError('--client and --grant exclude each other');
  const token = await tokenArgument(io, positionals);
  const json = values.json === true;
  const judge = new Judge();
  const maxLength = seconds(values, 'max-length') ?? 16384;

  judge.check(1, `at most ${maxLength} characters`, token.length <= maxLength, 'ERR_ASSERTION_TOO_LONG', `${token.length} characters`);
  const decoded = decode(token);
  const compact = decoded !== undefined && decoded.segments === 3 && /^[A-Za-z0-9_-]*$/.test(token.split('.')[2] ?? '!');
  judge.check(
    1,
    'a compact JWS (three base64url parts, JSON header and claims)',
    compact,
    'ERR_ASSERTION_MALFORMED',
    'not header.payload.signature of base64url JSON objects',
  );
  if (!decoded) {
    print(io, json, { findings: judge.findings, accepted: false }, () => formatFindings(judge.findings));
    return EXIT.REFUSED;
  }
  const { header, claims } = decoded;
  const use = values.client ? 'client' : values.grant ? 'grant' : claims.iss !== undefined && claims.iss === claims.sub ? 'client' : 'grant';
  const client = use === 'client';
  const now = nowMs() / 1000;
  const tolerance = seconds(values, 'clock-tolerance') ?? 30;
  const maxLifetime = seconds(values, 'max-lifetime') ?? (client ? 300 : 3600);

  // Step 2: the header (RFC 7515 §4.1, RFC 8725 §3.1 and §3.11).
  const alg = header.alg;
  judge.check(
    2,
    'alg is a supported algorithm (never none)',
    typeof alg === 'string' && (SUPPORTED_ALGORITHMS as readonly string[]).includes(alg),
    'ERR_ALGORITHM_NOT_ALLOWED',
    `alg ${str(alg)}`,
  );
  judge.check(2, 'no crit', header.crit === undefined, 'ERR_CRIT_UNSUPPORTED', `crit ${str(header.crit)}`);
  judge.check(
    2,
    'not a nested JWT (cty)',
    !(typeof header.cty === 'string' && /^(?:application\/)?jwt$/i.test(header.cty)),
    'ERR_ASSERTION_MALFORMED',
    `cty ${str(header.cty)}`,
  );
  const typ = header.typ;
  if (!client && typeof typ === 'string' && ID_JAG_TYPE.test(typ)) {
    judge.note(2, 'typ', 'warn', `${typ}: an ID-JAG, accepted only from an issuer trusted for the id-jag profile`);
  } else {
    const accepted = client ? CLIENT_TYPES : GRANT_TYPES;
    judge.check(
      2,
      `typ absent or one of ${accepted.join(', ')}`,
      typ === undefined || (typeof typ === 'string' && accepted.includes(typ.toLowerCase())),
      'ERR_TYPE_INVALID',
      `typ ${str(typ)}`,
    );
  }
  judge.note(3, client ? 'the client is registered (by sub)' : 'the issuer is trusted (by iss)', 'skip', 'needs the configuration: jwt-bearer check');
  judge.note(4, 'a key of the party verifies the signature', 'skip', 'needs the configuration: jwt-bearer check');

  // Step 5: claims (RFC 7523 §3).
  const stringClaim = (name: string, required: boolean, missing: ErrorCode = 'ERR_CLAIM_MISSING'): string | undefined => {
    const value = claims[name];
    if (value === undefined) {
      if (required) judge.check(5, `${name} present`, false, missing, `claim "${name}" is missing`);
      return undefined;
    }
    return judge.check(5, `${name} is a non-empty string`, typeof value === 'string' && value.length > 0, 'ERR_CLAIM_INVALID', `${name} ${str(value)}`)
      ? (value as string)
      : undefined;
  };
  const iss = stringClaim('iss', true);
  const sub = stringClaim('sub', client);
  if (!client && claims.sub === undefined) judge.note(5, 'sub present', 'warn', 'no sub: accepted only from an issuer with requireSubject: false');
  if (client && iss !== undefined && sub !== undefined)
    judge.check(5, 'iss equals sub (the client id)', iss === sub, 'ERR_ISSUER_MISMATCH', `iss ${str(iss)}, sub ${str(sub)}`);
  const aud = claims.aud;
  const values_ = typeof aud === 'string' ? [aud] : aud;
  if (judge.check(5, 'aud present', aud !== undefined, 'ERR_CLAIM_MISSING', 'claim "aud" is missing')) {
    const shaped = Array.isArray(values_) && values_.length > 0 && values_.every((a) => typeof a === 'string');
    if (judge.check(5, 'aud is a string or a non-empty array of strings', shaped, 'ERR_CLAIM_INVALID', `aud ${str(aud)}`)) {
      const list = values_ as string[];
      const issuer = option(values, 'issuer');
      const audiences = (values.audience as string[] | undefined) ?? [];
      if (client) {
        judge.check(5, 'aud has a sole value (RFC 10070)', list.length === 1, 'ERR_AUDIENCE_INVALID', `aud ${str(aud)} has ${list.length} values`);
        if (issuer !== undefined)
          judge.check(
            5,
            'aud is exactly the issuer identifier (RFC 10070)',
            list.length === 1 && list[0] === issuer,
            'ERR_AUDIENCE_INVALID',
            `aud ${str(aud)}, issuer ${str(issuer)}`,
          );
        else judge.note(5, 'aud is exactly the issuer identifier (RFC 10070)', 'skip', 'give --issuer to judge it');
      } else if (issuer !== undefined) {
        const accepted = new Set([issuer, ...audiences]);
        judge.check(
          5,
          'aud names this server',
          list.some((a) => accepted.has(a)),
          'ERR_AUDIENCE_INVALID',
          `aud ${str(aud)}`,
        );
      } else {
        judge.note(5, 'aud names this server', 'skip', 'give --issuer to judge it');
      }
    }
  }
  const date = (name: string): number | undefined => {
    const value = claims[name];
    if (value === undefined) return undefined;
    return judge.check(5, `${name} is a NumericDate`, typeof value === 'number' && Number.isFinite(value), 'ERR_CLAIM_INVALID', `${name} ${str(value)}`)
      ? (value as number)
      : undefined;
  };
  const exp = date('exp');
  const nbf = date('nbf');
  const iat = date('iat');
  if (judge.check(5, 'exp present', claims.exp !== undefined, 'ERR_CLAIM_MISSING', 'claim "exp" is missing') && exp !== undefined) {
    judge.check(5, `exp not past (${tolerance} s tolerance)`, now < exp + tolerance, 'ERR_ASSERTION_EXPIRED', `exp ${exp} is past (now ${Math.floor(now)})`);
  }
  if (nbf !== undefined) judge.check(5, 'nbf not in the future', nbf <= now + tolerance, 'ERR_ASSERTION_NOT_YET_VALID', `nbf ${nbf} is in the future`);
  if (iat !== undefined) {
    judge.check(5, 'iat not in the future', iat <= now + tolerance, 'ERR_ASSERTION_ISSUED_IN_FUTURE', `iat ${iat} is in the future`);
    judge.check(
      5,
      `issued at most ${maxLifetime} s ago (lifetime cap)`,
      now - iat <= maxLifetime + tolerance,
      'ERR_ASSERTION_LIFETIME_EXCEEDED',
      `iat ${iat} is ${Math.floor(now - iat)} s ago`,
    );
  } else if (exp !== undefined) {
    judge.check(
      5,
      `no iat: exp at most ${maxLifetime} s away (lifetime cap)`,
      exp - now <= maxLifetime + tolerance,
      'ERR_ASSERTION_LIFETIME_EXCEEDED',
      `exp is ${Math.floor(exp - now)} s away`,
    );
  }
  const jti = stringClaim('jti', client, 'ERR_JTI_MISSING');
  if (!client && claims.jti === undefined) judge.note(5, 'jti', 'warn', 'no jti: accepted unless requireJti, but not replay-protected');
  if (!client && claims.scope !== undefined) {
    judge.check(
      5,
      'scope claim is RFC 6749 §3.3 syntax',
      typeof claims.scope === 'string' && /^([\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*)?$/.test(claims.scope),
      'ERR_CLAIM_INVALID',
      `scope ${str(claims.scope)}`,
    );
  }
  judge.note(6, jti === undefined ? 'no jti to record' : 'jti not used before', 'skip', 'needs the replay store: the middleware records it on acceptance');

  const times = Object.fromEntries(
    (['iat', 'nbf', 'exp'] as const)
      .filter((n) => utc(claims[n]) !== undefined)
      .map((n) => [n, { utc: utc(claims[n]), relative: relative(claims[n] as number, now) }]),
  );
  const accepted = !judge.findings.some((f) => f.result === 'fail');
  print(io, json, { use, header, claims, times, findings: judge.findings, accepted }, () => {
    const lines = [
      `${client ? 'client assertion' : 'authorization grant'} (${values.client || values.grant ? 'as asked' : 'guessed from iss and sub; --client / --grant to choose'}), NOT verified`,
      `header  ${JSON.stringify(header)}`,
      `claims  ${JSON.stringify(claims, null, 2).replace(/\n/g, '\n        ')}`,
      ...Object.entries(times).map(([n, t]) => `${n.padEnd(7)} ${t.utc}  (${t.relative})`),
      '',
      formatFindings(judge.findings).trimEnd(),
      '',
      accepted
        ? 'nothing judged here refuses it'
        : `refused: ${judge.findings
            .filter((f) => f.result === 'fail')
            .map((f) => f.code)
            .join(', ')}`,
    ];
    return `${lines.join('\n')}\n`;
  });
  return accepted ? EXIT.OK : EXIT.REFUSED;
}

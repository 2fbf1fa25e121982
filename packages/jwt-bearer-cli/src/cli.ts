/**
 * jwt-bearer-cli: the `jwt-bearer` command. Generate keys and a JWK Set, mint an assertion,
 * inspect one, check one against the server's own configuration exactly as the middleware would
 * (without consuming its jti), and print the metadata a configuration implies.
 *
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, CHECK_HELP } from './commands/check';
import { inspect, INSPECT_HELP } from './commands/inspect';
import { keygen, KEYGEN_HELP } from './commands/keygen';
import { metadata, METADATA_HELP } from './commands/metadata';
import { mint, MINT_HELP } from './commands/mint';
import { EXIT, UsageError, type Io } from './io';

export { EXIT, type Io } from './io';

const COMMANDS: Record<string, { run: (argv: string[], io: Io) => Promise<number>; help: string; summary: string }> = {
  keygen: { run: keygen, help: KEYGEN_HELP, summary: 'generate a key pair and its public JWK Set (or an HMAC secret)' },
  mint: { run: mint, help: MINT_HELP, summary: 'sign an assertion (createAssertion)' },
  inspect: { run: inspect, help: INSPECT_HELP, summary: 'decode an assertion and judge the rules that need no key' },
  check: { run: check, help: CHECK_HELP, summary: "verify an assertion with the server's configuration, step by step, without consuming its jti" },
  metadata: { run: metadata, help: METADATA_HELP, summary: 'print the RFC 8414 metadata a configuration implies' },
};

export const HELP = `Usage: jwt-bearer <command> [options]

RFC 7523 JWT bearer assertions (authorization grants and client authentication) from the
command line.

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

Every command takes --help and --json.
Exit codes: 0 accepted / done, 1 refused, 2 usage or configuration error.
`;

function version(): string {
  return (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
}

/** Runs the command line `argv` (without node and the script); resolves the exit code. */
export async function run(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' && rest[0] !== undefined ? COMMANDS[rest[0]] : undefined;
    io.out(topic ? topic.help : HELP);
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (name === '--version' || name === '-v') return (io.out(`${version()}\n`), EXIT.OK);
  const command = COMMANDS[name];
  if (!command) {
    io.err(`jwt-bearer: unknown command ${JSON.stringify(name)}\n\n${HELP}`);
    return EXIT.USAGE;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`jwt-bearer ${name}: ${err.message}\n(jwt-bearer ${name} --help for usage)\n`);
      return EXIT.USAGE;
    }
    throw err;
  }
}

/** The process's standard streams as an {@link Io}. */
export function processIo(): Io {
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    stdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}

/** Entry of the `jwt-bearer` binary: runs, then exits with the code once output is written. */
export function main(argv: string[] = process.argv.slice(2)): void {
  run(argv, processIo()).then(
    (code) => exit(code),
    (err: unknown) => {
      process.stderr.write(`jwt-bearer: ${(err as Error)?.stack ?? String(err)}\n`);
      exit(EXIT.USAGE);
    },
  );
}

function exit(code: number): void {
  // A configuration module may hold connections open (a Redis client): exit explicitly, after the output is flushed.
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Exit codes a script can rely on. */
export const EXIT = Object.freeze({
  /** The command did what was asked; for `check` and `inspect`: the assertion is accepted. */
  OK: 0,
  /** `check` / `inspect`: the assertion is refused. */
  REFUSED: 1,
  /** Bad usage, or a configuration that cannot be loaded or is invalid (or fails with a 5xx). */
  USAGE: 2,
});

/** Where a command writes. The binary passes the process's streams; tests may pass their own. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Reads standard input to the end (for a token given as `-`). */
  stdin(): Promise<string>;
}

/** A mistake in how the command was called or configured: exit code 2, message on stderr. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** The options every command takes. */
const COMMON: Options = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
};

/** Parses `argv` strictly: an unknown option or a missing value is a {@link UsageError}. */
export function parse(argv: string[], options: Options): { values: Record<string, unknown>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
    return { values: values as Record<string, unknown>, positionals };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** A string option, or a {@link UsageError} naming it when it is required and missing. */
export function option(values: Record<string, unknown>, name: string, required: true): string;
export function option(values: Record<string, unknown>, name: string, required?: false): string | undefined;
export function option(values: Record<string, unknown>, name: string, required = false): string | undefined {
  const value = values[name];
  if (value === undefined && required) throw new UsageError(`--${name} is required`);
  return value as string | undefined;
}

/** A non-negative integer option (seconds). */
export function seconds(values: Record<string, unknown>, name: string): number | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number of seconds`);
  return Number(value);
}

/** Writes `value` as JSON (with `--json`) or the human text `human()`. */
export function print(io: Io, json: boolean, value: unknown, human: () => string): void {
  io.out(json ? `${JSON.stringify(value, null, 2)}\n` : human());
}

/** The token argument: the one positional, or standard input for `-`. */
export async function tokenArgument(io: Io, positionals: string[]): Promise<string> {
  if (positionals.length !== 1) throw new UsageError('expected exactly one TOKEN argument (or - to read it from standard input)');
  const token = (positionals[0] === '-' ? await io.stdin() : positionals[0]!).trim();
  if (token === '') throw new UsageError('TOKEN is empty');
  return token;
}

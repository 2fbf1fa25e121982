/**
 * Bounded descriptions of values for private error details. Nothing a client sends is ever
 * serialised without a bound (DESIGN §9): `JSON.stringify` of a 6,000-deep array that `JSON.parse`
 * accepted overflows the stack, and of a long string copies it into every log line.
 */

/** Longest description, in characters, before it is cut with `…`. */
export const DESCRIBE_MAX_LENGTH = 120;
/** Nesting shown; deeper arrays and objects are written `[…]` / `{…}`. */
const MAX_DEPTH = 2;
/** Members of one array or object shown; more are written `…`. */
const MAX_MEMBERS = 5;

function quote(text: string, room: number): string {
  // JSON.stringify of a string is flat (no recursion), and the slice bounds its cost.
  return text.length > room ? `${JSON.stringify(text.slice(0, Math.max(1, room)))}…` : JSON.stringify(text);
}

function write(value: unknown, depth: number, room: number): string {
  switch (typeof value) {
    case 'string':
      return quote(value, room);
    case 'number':
    case 'boolean':
      return String(value);
    case 'bigint':
      return `${value}n`;
    case 'undefined':
      return 'undefined';
    case 'function':
      return '[function]';
    case 'symbol':
      return '[symbol]';
    default:
      break;
  }
  if (value === null) return 'null';
  const array = Array.isArray(value);
  if (depth >= MAX_DEPTH) return array ? '[…]' : '{…}';
  const parts: string[] = [];
  let used = 2;
  let more = false;
  if (array) {
    const items = value as unknown[];
    for (let i = 0; i < items.length; i += 1) {
      if (i >= MAX_MEMBERS || used >= room) {
        more = true;
        break;
      }
      const part = write(items[i], depth + 1, room - used);
      parts.push(part);
      used += part.length + 1;
    }
    return `[${parts.join(',')}${more ? ',…' : ''}]`;
  }
  let n = 0;
  for (const key in value as Record<string, unknown>) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    if (n >= MAX_MEMBERS || used >= room) {
      more = true;
      break;
    }
    n += 1;
    const name = quote(key, 40);
    const part = `${name}:${write((value as Record<string, unknown>)[key], depth + 1, room - used - name.length - 1)}`;
    parts.push(part);
    used += part.length + 1;
  }
  return `{${parts.join(',')}${more ? ',…' : ''}}`;
}

/**
 * A JSON-like description of `value` for a private detail: strings quoted, at most two levels
 * of nesting and five members per level shown, and at most {@link DESCRIBE_MAX_LENGTH}
 * characters. Safe for any value `JSON.parse` returns, however deep or long.
 */
export function describe(value: unknown): string {
  const text = write(value, 0, DESCRIBE_MAX_LENGTH);
  return text.length > DESCRIBE_MAX_LENGTH + 1 ? `${text.slice(0, DESCRIBE_MAX_LENGTH)}…` : text;
}

/** What kind of value `value` is, for a detail that must not print it: `string`, `array`, `function`, `Map`… */
export function describeKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value !== 'object') return typeof value;
  const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return typeof name === 'string' && name.length > 0 && name.length <= 40 ? `${name} object` : 'object';
}

/** The message of something thrown, bounded, for a detail. */
export function errorMessage(err: unknown): string {
  let message: unknown;
  try {
    message = err instanceof Error ? err.message : err;
  } catch {
    message = undefined;
  }
  const text = typeof message === 'string' ? message : describe(message);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/**
 * Test harness: a real `redis-server` on 127.0.0.1 and a free port, with nothing persisted,
 * that a suite can stop, restart on the same port, pause (a hung Redis) and query directly.
 *
 * ```ts
 * let redis: RedisServer;
 * beforeAll(async () => { redis = await startRedisServer(); });
 * afterAll(() => redis.close());
 * ```
 *
 * No mock: the binary is the Debian package's (`/usr/bin/redis-server`, or `REDIS_SERVER_BIN`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HOST = '127.0.0.1';
const BINARY = process.env.REDIS_SERVER_BIN ?? 'redis-server';
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const COMMAND_TIMEOUT_MS = 5_000;

/** A RESP reply, as {@link RedisServer.command} decodes it. */
export type RespReply = string | number | null | RespReply[];

/** An error reply (`-ERR …`) from Redis. */
export class RespError extends Error {
  override name = 'RespError';
}

/** A running (or stopped, restartable) redis-server. */
export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** Its working directory (a fresh temporary one), removed by {@link close}. */
  readonly dir: string;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Process id while running. */
  readonly pid: number | undefined;
  /** Whether the process is running (it may be paused). */
  readonly running: boolean;
  /** Starts it again on the same port (empty: nothing is persisted). */
  start(): Promise<void>;
  /** Stops it and waits for the process to exit: SIGTERM by default, SIGKILL for a crash. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** SIGSTOP: the port stays open and connections stay up, but nothing is answered. */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
  /** Runs one command on a fresh connection of its own (independent of the clients under test). */
  command(...args: Array<string | number>): Promise<RespReply>;
  /** Stops it for good and removes its working directory. */
  close(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Last resort if a suite dies before its afterAll: never leave a redis-server behind. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/** A port that was free a moment ago (the kernel's choice). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

function encode(args: Array<string | number>): Buffer {
  const parts = [`*${args.length}\r\n`];
  for (const arg of args) {
    const s = String(arg);
    parts.push(`$${Buffer.byteLength(s)}\r\n${s}\r\n`);
  }
  return Buffer.from(parts.join(''));
}

/** Parses one RESP2 reply at `offset`; `undefined` when the buffer does not hold all of it yet. */
function parse(buf: Buffer, offset: number): { value: RespReply | RespError; end: number } | undefined {
  const lineEnd = buf.indexOf('\r\n', offset);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buf[offset]!);
  const line = buf.toString('utf8', offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new RespError(line), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buf.length < next + length + 2) return undefined;
      return { value: buf.toString('utf8', next, next + length), end: next + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: RespReply[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = parse(buf, at);
        if (!item) return undefined;
        if (item.value instanceof RespError) return item;
        items.push(item.value);
        at = item.end;
      }
      return { value: items, end: at };
    }
    default:
      throw new Error(`unexpected RESP type ${JSON.stringify(type)}`);
  }
}

/** One command on a one-off connection. */
export function redisCommand(port: number, args: Array<string | number>, timeoutMs = COMMAND_TIMEOUT_MS): Promise<RespReply> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port });
    let buf = Buffer.alloc(0);
    let settled = false;
    const finish = (err: Error | undefined, value?: RespReply): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value ?? null);
    };
    const timer = setTimeout(() => finish(new Error(`redis ${String(args[0])} timed out after ${timeoutMs} ms`)), timeoutMs);
    socket.once('error', (err) => finish(err));
    socket.once('close', () => finish(new Error('connection closed before the reply')));
    socket.once('connect', () => socket.write(encode(args)));
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        const reply = parse(buf, 0);
        if (!reply) return;
        if (reply.value instanceof RespError) finish(reply.value);
        else finish(undefined, reply.value);
      } catch (err) {
        finish(err as Error);
      }
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

class RedisServerProcess implements RedisServer {
  readonly host = HOST;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private output: string[] = [];
  private paused = false;
  private started = false;

  constructor(
    readonly port: number,
    readonly dir: string,
    private readonly options: StartRedisServerOptions,
  ) {}

  get url(): string {
    return `redis://${HOST}:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  async start(): Promise<void> {
    if (this.child) throw new Error(`redis-server on port ${this.port} is already running`);
    this.output = [];
    const { config, sentinel = false, args = [] } = this.options;
    // Sentinel rewrites its configuration file, so it needs one of its own on disk.
    const configFile = config === undefined ? [] : [join(this.dir, sentinel ? 'sentinel.conf' : 'redis.conf')];
    if (config !== undefined && !this.started) writeFileSync(configFile[0]!, config);
    this.started = true;
    const child = spawn(
      BINARY,
      [
        ...configFile,
        ...(sentinel ? ['--sentinel'] : ['--save', '', '--appendonly', 'no']),
        '--port',
        String(this.port),
        '--bind',
        HOST,
        '--dir',
        this.dir,
        '--daemonize',
        'no',
        '--loglevel',
        'warning',
        ...args,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    installExitHook();
    live.add(child);
    this.child = child;
    this.paused = false;
    const keep = (chunk: Buffer): void => {
      this.output.push(chunk.toString());
      if (this.output.length > 50) this.output.shift();
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    let exitedEarly = false;
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        exitedEarly = true;
        live.delete(child);
        if (this.child === child) this.child = undefined;
        resolve();
      });
      child.once('error', (err) => {
        keep(Buffer.from(String(err)));
        exitedEarly = true;
        live.delete(child);
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (exitedEarly) break;
      try {
        if ((await redisCommand(this.port, ['PING'], 500)) === 'PONG') return;
      } catch (err) {
        // Not listening yet; or listening but loading its dataset, when the caller asked for that.
        if (this.options.readyWhenLoading && err instanceof RespError && err.message.startsWith('LOADING')) return;
      }
      await delay(20);
    }
    const log = this.output.join('').trim();
    await this.stop('SIGKILL');
    throw new Error(`redis-server did not start on ${HOST}:${this.port}${log ? `:\n${log}` : ''}`);
  }

  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = this.exited;
    child.kill(signal);
    if (this.paused) child.kill('SIGCONT');
    this.paused = false;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      child.kill('SIGKILL');
      await exited;
    }
  }

  pause(): void {
    if (!this.child) throw new Error('redis-server is not running');
    this.child.kill('SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    if (!this.child) throw new Error('redis-server is not running');
    this.child.kill('SIGCONT');
    this.paused = false;
  }

  command(...args: Array<string | number>): Promise<RespReply> {
    return redisCommand(this.port, args);
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Options of {@link startRedisServer}. */
export interface StartRedisServerOptions {
  /** Extra command-line arguments, e.g. `['--maxmemory', '10mb']`. */
  args?: string[];
  /** A configuration file's content, written into the server's directory before its first start. */
  config?: string;
  /** Runs `redis-server <config> --sentinel` (a Sentinel; `config` is then required). */
  sentinel?: boolean;
  /** Counts the server as started once it answers `LOADING` (it is still loading its dataset). */
  readyWhenLoading?: boolean;
}

/**
 * Starts a redis-server on 127.0.0.1 and a free port, with `--save '' --appendonly no`, and
 * resolves once it answers PING. Retries with another port if the chosen one was taken meanwhile.
 */
export async function startRedisServer(options: StartRedisServerOptions = {}): Promise<RedisServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'jwt-bearer-redis-'));
    const server = new RedisServerProcess(await freePort(), dir, options);
    try {
      await server.start();
      return server;
    } catch (err) {
      lastError = err;
      rmSync(dir, { recursive: true, force: true });
    }
  }
  throw lastError;
}

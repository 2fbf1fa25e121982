import { createHash } from 'node:crypto';
import type { ReplayStore } from 'jwt-bearer-core';

/**
 * The part of an ioredis client (`Redis` or `Cluster`, ioredis 4 or 5) that the store uses:
 * `SET key value PX ms NX`, answered `'OK'` or `null`.
 */
export interface IoRedisClientLike {
  /** ioredis's connection status (`'wait'`, `'connecting'`, `'ready'`, …). */
  readonly status: string;
  /** Present on every ioredis client; used with `status` to recognise one. */
  defineCommand: (...args: never[]) => unknown;
  set(key: string, value: string, pxToken: 'PX', milliseconds: number, nxToken: 'NX'): Promise<unknown>;
}

/**
 * The part of a node-redis client (`createClient()` or `createCluster()`, redis 4 or 5) that the
 * store uses: `set(key, value, { PX, NX: true })`, answered `'OK'` or `null`.
 */
export interface NodeRedisClientLike {
  /** Whether the client was connected (node-redis's `isOpen`); used to recognise one. */
  readonly isOpen: boolean;
  set(key: string, value: string, options: { PX: number; NX: true }): Promise<unknown>;
}

/** A Redis client the store accepts: ioredis, or node-redis v4 and later. */
export type RedisClientLike = IoRedisClientLike | NodeRedisClientLike;

/** Which client library a {@link RedisReplayStore} detected. */
export type RedisClientType = 'ioredis' | 'node-redis';

/** Options of {@link RedisReplayStore}. */
export interface RedisReplayStoreOptions {
  /**
   * A connected (or connecting) ioredis or node-redis v4+ client. The store never connects,
   * disconnects or configures it; the application owns its lifecycle. Required.
   */
  client: RedisClientLike;
  /**
   * Prepended to every Redis key, so the store's keys are recognisable and cannot clash with the
   * application's. At most 256 characters. Default `'jwt-bearer:jti:'`.
   */
  prefix?: string;
  /**
   * Milliseconds a claim waits for Redis before it rejects, so an unreachable or hung Redis
   * turns into 503 `temporarily_unavailable` instead of a hanging request. Default 1000.
   */
  timeout?: number;
}

/** Stable codes of {@link RedisReplayStoreError}. */
export type RedisReplayStoreErrorCode =
  /** Redis did not answer within `timeout` milliseconds. */
  | 'ERR_REDIS_TIMEOUT'
  /** The client rejected the command (connection lost, closed client, Redis error reply). */
  | 'ERR_REDIS_COMMAND'
  /** Redis answered something other than `OK` or nil. */
  | 'ERR_REDIS_REPLY';

/**
 * Why {@link RedisReplayStore.claim} rejected. The core answers every rejection with 503
 * `temporarily_unavailable`; `code` and `cause` reach the `onError` hook for logs and metrics.
 */
export class RedisReplayStoreError extends Error {
  override name = 'RedisReplayStoreError';
  /** Stable machine code. */
  readonly code: RedisReplayStoreErrorCode;

  /**
   * @param code - the stable code
   * @param message - what happened (never contains the key or the `jti`)
   * @param cause - the client's error, if any
   */
  constructor(code: RedisReplayStoreErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
  }
}

/** The default {@link RedisReplayStoreOptions.prefix}. */
export const DEFAULT_PREFIX = 'jwt-bearer:jti:';

/** The default {@link RedisReplayStoreOptions.timeout}, in milliseconds. */
export const DEFAULT_TIMEOUT = 1000;

const MAX_PREFIX_LENGTH = 256;

/** Largest delay `setTimeout` honours (2^31 − 1 ms); longer ones fire at once. */
const MAX_TIMEOUT = 2_147_483_647;

type SetIfAbsent = (key: string, milliseconds: number) => Promise<unknown>;

interface Detected {
  type: RedisClientType;
  setIfAbsent: SetIfAbsent;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null;
}

/**
 * Recognises the client library by shape, not by `instanceof`: the application's copy of
 * ioredis or redis may not be the one this package would resolve.
 */
function detectClient(client: unknown): Detected | undefined {
  if (!isObject(client) || typeof client.set !== 'function') return undefined;
  if (typeof client.status === 'string' && typeof client.defineCommand === 'function') {
    const io = client as unknown as IoRedisClientLike;
    return { type: 'ioredis', setIfAbsent: (key, ms) => io.set(key, '1', 'PX', ms, 'NX') };
  }
  if (typeof client.isOpen === 'boolean') {
    // node-redis 4 in `legacyMode` answers callbacks on the client itself and promises on `.v4`.
    const v4 = client.v4;
    const nr = (isObject(v4) && typeof v4.set === 'function' ? v4 : client) as unknown as NodeRedisClientLike;
    return { type: 'node-redis', setIfAbsent: (key, ms) => nr.set(key, '1', { PX: ms, NX: true }) };
  }
  return undefined;
}

/** `SET … NX` answers `OK` when it set the key and nil when the key exists. */
function isOk(reply: unknown): boolean {
  if (reply === 'OK') return true;
  // A node-redis `typeMapping` may hand simple strings over as bytes.
  return reply instanceof Uint8Array && Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength).toString('latin1') === 'OK';
}

/**
 * A {@link ReplayStore} on Redis, for deployments of more than one process or machine: every
 * process that shares the Redis shares one record of used `jti`s.
 *
 * Each claim is one atomic round trip, `SET <prefix><sha256(key)> 1 NX PX <ttl>`: of any number
 * of concurrent claims of one key, from any number of processes, exactly one resolves `true`.
 * The claim rejects — and the core answers 503 `temporarily_unavailable` — when Redis errs, is
 * unreachable, or does not answer within `timeout`: it never resolves `true` unless Redis
 * recorded the key.
 *
 * @example
 * ```ts
 * import Redis from 'ioredis';
 * import { RedisReplayStore } from 'jwt-bearer-redis';
 *
 * const replayStore = new RedisReplayStore({ client: new Redis(process.env.REDIS_URL) });
 * ```
 */
export class RedisReplayStore implements ReplayStore {
  /**
   * Always `true`: processes on several machines share one Redis, so the core adds one
   * `clockTolerance` to each record's TTL as a margin for clock skew between them.
   */
  readonly shared = true;
  /** The key prefix in use. */
  readonly prefix: string;
  /** The claim timeout in use, in milliseconds. */
  readonly timeout: number;
  /** The client library detected. */
  readonly clientType: RedisClientType;
  private readonly setIfAbsent: SetIfAbsent;

  /**
   * @param options - the client and its settings; validated here, so a bad configuration throws
   * a `TypeError` naming the option at startup rather than failing requests later.
   */
  constructor(options: RedisReplayStoreOptions) {
    if (!isObject(options)) throw new TypeError('RedisReplayStore options must be an object');
    const detected = detectClient(options.client);
    if (!detected) throw new TypeError('RedisReplayStore option "client" must be an ioredis or node-redis (v4 or later) client');
    const prefix = options.prefix === undefined ? DEFAULT_PREFIX : options.prefix;
    if (typeof prefix !== 'string' || prefix.length > MAX_PREFIX_LENGTH) {
      throw new TypeError(`RedisReplayStore option "prefix" must be a string of at most ${MAX_PREFIX_LENGTH} characters`);
    }
    const timeout = options.timeout === undefined ? DEFAULT_TIMEOUT : options.timeout;
    if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0 || timeout > MAX_TIMEOUT) {
      throw new TypeError(`RedisReplayStore option "timeout" must be a number of milliseconds greater than 0 and at most ${MAX_TIMEOUT}`);
    }
    this.prefix = prefix;
    this.timeout = timeout;
    this.clientType = detected.type;
    this.setIfAbsent = detected.setIfAbsent;
  }

  /**
   * The Redis key that records `key`: the prefix and the SHA-256 of `key` in base64url (43
   * characters), so every entry has the same bounded size whatever the issuer and `jti`.
   *
   * @param key - the key the core claims (`<use>:<length>:<issuer-or-client>:<jti>`)
   */
  redisKey(key: string): string {
    return this.prefix + createHash('sha256').update(key, 'utf8').digest('base64url');
  }

  /**
   * Records `key` for `ttlSeconds` if it is not recorded yet.
   *
   * @param key - what to record (the core passes use, issuer or client, and `jti`)
   * @param ttlSeconds - how long to remember it; rounded up to whole milliseconds
   * @returns `true` the first time, `false` while the key is recorded (a replay)
   * @throws {@link RedisReplayStoreError} (as a rejection) when Redis errs or does not answer
   * within `timeout`; `TypeError` for an invalid argument
   */
  async claim(key: string, ttlSeconds: number): Promise<boolean> {
    if (typeof key !== 'string') throw new TypeError('RedisReplayStore.claim: key must be a string');
    if (typeof ttlSeconds !== 'number' || !(ttlSeconds > 0)) {
      throw new TypeError('RedisReplayStore.claim: ttlSeconds must be a positive number');
    }
    const milliseconds = Math.max(1, Math.ceil(ttlSeconds * 1000));
    if (!Number.isSafeInteger(milliseconds)) throw new TypeError('RedisReplayStore.claim: ttlSeconds is too large');
    const reply = await this.withTimeout(this.redisKey(key), milliseconds);
    if (reply === null || reply === undefined) return false;
    if (isOk(reply)) return true;
    // Anything else means we cannot tell whether the key was set: fail closed.
    throw new RedisReplayStoreError('ERR_REDIS_REPLY', `unexpected reply to SET NX: ${typeof reply}`);
  }

  /**
   * Sends the command and settles with its reply or after `timeout`, whichever comes first.
   * Both ioredis and node-redis queue commands while they are disconnected (their offline
   * queues) and would hold the request until Redis is back; the timer bounds that wait. A
   * command that times out may still run later: that burns the `jti` of an assertion that was
   * refused, which is safe; resolving `true` without Redis's answer would not be.
   */
  private withTimeout(redisKey: string, milliseconds: number): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new RedisReplayStoreError('ERR_REDIS_TIMEOUT', `Redis did not answer within ${this.timeout} ms`));
      }, this.timeout);
      Promise.resolve()
        .then(() => this.setIfAbsent(redisKey, milliseconds))
        .then(
          (reply) => {
            clearTimeout(timer);
            resolve(reply);
          },
          (err: unknown) => {
            clearTimeout(timer);
            const message = err instanceof Error ? err.message : String(err);
            reject(new RedisReplayStoreError('ERR_REDIS_COMMAND', `Redis command failed: ${message}`, err));
          },
        );
    });
  }
}

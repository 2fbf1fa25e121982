/**
 * jwt-bearer-redis: a Redis {@link ReplayStore} for jwt-bearer-core, so that every process of an
 * authorization server shares one record of used assertion identifiers (`jti`).
 *
 * @packageDocumentation
 */
export {
  RedisReplayStore,
  RedisReplayStoreError,
  DEFAULT_PREFIX,
  DEFAULT_TIMEOUT,
  type RedisReplayStoreOptions,
  type RedisWaitOptions,
  type IoRedisPipelineLike,
  type NodeRedisBatchLike,
  type RedisReplayStoreErrorCode,
  type RedisClientLike,
  type RedisClientType,
  type IoRedisClientLike,
  type NodeRedisClientLike,
} from './redis-replay-store';
export type { ReplayStore } from 'jwt-bearer-core';

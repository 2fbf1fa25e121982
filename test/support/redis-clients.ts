/**
 * The Redis client libraries the store is tested with (ioredis 6, ioredis 5, node-redis 5), each
 * connected in the topology a suite needs, closed by {@link closeClients}.
 */
import Redis, { Cluster } from 'ioredis';
import Redis5, { Cluster as Cluster5 } from 'ioredis5';
import { createClient, createCluster, createSentinel } from 'redis';
import type { RedisClientLike } from 'jwt-bearer-redis';
import { SENTINEL_MASTER_NAME } from './redis-topology';

export type Flavour = 'ioredis 6' | 'ioredis 5' | 'node-redis 5';
export const FLAVOURS: Flavour[] = ['ioredis 6', 'ioredis 5', 'node-redis 5'];

type Address = { host: string; port: number };
const closers: Array<() => void> = [];

/** Disconnects every client opened through this module. */
export function closeClients(): void {
  for (const close of closers.splice(0)) {
    try {
      close();
    } catch {
      // already closed
    }
  }
}

const quiet = (client: { on(event: 'error', listener: () => void): unknown }): void => {
  client.on('error', () => {}); // reconnection noise while a test has a node down
};

/** A cluster client of `flavour` on the cluster whose nodes are `seeds`. */
export async function clusterClient(flavour: Flavour, seeds: Address[]): Promise<RedisClientLike> {
  if (flavour === 'node-redis 5') {
    const client = createCluster({ rootNodes: seeds.map((socket) => ({ socket })), defaults: { socket: { reconnectStrategy: 100 } } });
    quiet(client);
    closers.push(() => void client.destroy());
    await client.connect();
    return client;
  }
  const client = flavour === 'ioredis 6' ? new Cluster(seeds, { lazyConnect: true }) : new Cluster5(seeds, { lazyConnect: true });
  quiet(client);
  closers.push(() => client.disconnect());
  await client.connect();
  return client as RedisClientLike;
}

/** A client of `flavour` that finds the primary through the Sentinels at `seeds`. */
export async function sentinelClient(flavour: Flavour, seeds: Address[]): Promise<RedisClientLike> {
  if (flavour === 'node-redis 5') {
    const client = createSentinel({ name: SENTINEL_MASTER_NAME, sentinelRootNodes: seeds });
    quiet(client);
    closers.push(() => void client.destroy());
    await client.connect();
    return client as unknown as RedisClientLike;
  }
  const options = { sentinels: seeds, name: SENTINEL_MASTER_NAME, lazyConnect: true };
  const client = flavour === 'ioredis 6' ? new Redis(options) : new Redis5(options);
  quiet(client);
  closers.push(() => client.disconnect());
  await client.connect();
  return client as RedisClientLike;
}

/**
 * A client of `flavour` on one server. With `connected: false` it resolves at once, while the
 * client is still connecting (to a server that refuses connections or is loading its data).
 */
export async function standaloneClient(
  flavour: Flavour,
  port: number,
  { connected = true, ioredis = {} }: { connected?: boolean; ioredis?: Record<string, unknown> } = {},
): Promise<RedisClientLike> {
  let connecting: Promise<unknown>;
  let client: RedisClientLike;
  if (flavour === 'node-redis 5') {
    const nr = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: 100 } });
    quiet(nr);
    closers.push(() => nr.isOpen && nr.destroy());
    connecting = nr.connect();
    client = nr;
  } else {
    const options = { host: '127.0.0.1', port, lazyConnect: true, ...ioredis };
    const io = flavour === 'ioredis 6' ? new Redis(options) : new Redis5(options);
    quiet(io);
    closers.push(() => io.disconnect());
    connecting = io.connect();
    client = io as RedisClientLike;
  }
  if (connected) await connecting;
  else connecting.catch(() => {});
  return client;
}

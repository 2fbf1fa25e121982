/**
 * Test harness: real Redis topologies on 127.0.0.1, built from {@link startRedisServer}'s
 * processes (free ports, temporary directories, stopped by process id in `close()` and, as a last
 * resort, when the test process exits):
 *
 * - {@link startRedisCluster}: N primaries started with `--cluster-enabled yes` and joined with
 *   `redis-cli --cluster create`;
 * - {@link startSentinelGroup}: a primary, a replica and three Sentinels watching them.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { redisCommand, startRedisServer, type RedisServer, type RespReply } from './redis-server';

const HOST = '127.0.0.1';
const run = promisify(execFile);

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every 50 ms until it returns true, or fails after `ms`. */
export async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await delay(50);
  }
  throw new Error(`${what}: not within ${ms} ms${last ? ` (${String(last)})` : ''}`);
}

/** `INFO`-style text as a record. */
export function infoFields(text: RespReply): Record<string, string> {
  return Object.fromEntries(
    String(text)
      .split('\r\n')
      .filter((line) => line.includes(':'))
      .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)]),
  );
}

async function stopAll(servers: RedisServer[]): Promise<void> {
  await Promise.all(servers.map((server) => server.close()));
}

// ---------------------------------------------------------------------------------------------
// Cluster
// ---------------------------------------------------------------------------------------------

/** A running Redis Cluster of primaries only. */
export interface RedisCluster {
  readonly nodes: RedisServer[];
  /** `{ host, port }` of every node, for a client's seed list. */
  readonly seeds: Array<{ host: string; port: number }>;
  /** The node's cluster id. */
  nodeId(node: RedisServer): Promise<string>;
  /** The hash slot of `key` (`CLUSTER KEYSLOT`). */
  keySlot(key: string): Promise<number>;
  /** The node that serves `slot`. */
  owner(slot: number): Promise<RedisServer>;
  /** Resolves once every running node reports `cluster_state:ok`. */
  waitUntilOk(ms?: number): Promise<void>;
  /** Stops every node. */
  close(): Promise<void>;
}

/** Starts `primaries` cluster-enabled redis-servers and joins them into one cluster covering all 16384 slots. */
export async function startRedisCluster(primaries = 3): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  try {
    nodes.push(
      ...(await Promise.all(
        Array.from({ length: primaries }, () =>
          startRedisServer({
            args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '1000'],
          }),
        ),
      )),
    );
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `${HOST}:${n.port}`), '--cluster-yes'], { timeout: 30_000 });
  } catch (err) {
    await stopAll(nodes);
    throw err;
  }
  const cluster: RedisCluster = {
    nodes,
    seeds: nodes.map((n) => ({ host: HOST, port: n.port })),
    async nodeId(node) {
      return String(await node.command('CLUSTER', 'MYID'));
    },
    async keySlot(key) {
      return Number(await nodes.find((n) => n.running)!.command('CLUSTER', 'KEYSLOT', key));
    },
    async owner(slot) {
      const ranges = (await nodes.find((n) => n.running)!.command('CLUSTER', 'SLOTS')) as RespReply[][];
      for (const range of ranges) {
        if (slot >= Number(range[0]) && slot <= Number(range[1])) {
          const port = Number((range[2] as RespReply[])[1]);
          return nodes.find((n) => n.port === port)!;
        }
      }
      throw new Error(`slot ${slot} is not served`);
    },
    waitUntilOk(ms = 15_000) {
      return until(
        'cluster_state:ok on every node',
        async () => {
          for (const node of nodes.filter((n) => n.running)) {
            if (infoFields(await node.command('CLUSTER', 'INFO')).cluster_state !== 'ok') return false;
          }
          return true;
        },
        ms,
      );
    },
    close: () => stopAll(nodes),
  };
  try {
    await cluster.waitUntilOk();
  } catch (err) {
    await cluster.close();
    throw err;
  }
  return cluster;
}

// ---------------------------------------------------------------------------------------------
// Sentinel
// ---------------------------------------------------------------------------------------------

/**
 * Redis 7 waits 5 s before a full synchronisation to a new replica (`repl-diskless-sync-delay`),
 * in case more replicas come to share it; the test topologies have one replica, so they start at once.
 */
export const NO_SYNC_DELAY = ['--repl-diskless-sync-delay', '0'];

/** The name the Sentinels monitor the primary under. */
export const SENTINEL_MASTER_NAME = 'jwt-bearer';

/** A primary, a replica and three Sentinels (quorum 2, primary down after 1 s unreachable). */
export interface SentinelGroup {
  /** The two data nodes; which one is the primary changes with each failover. */
  readonly servers: RedisServer[];
  readonly sentinels: RedisServer[];
  /** `{ host, port }` of every Sentinel, for a client's seed list. */
  readonly seeds: Array<{ host: string; port: number }>;
  /** The data node the Sentinels currently name as primary. */
  primary(): Promise<RedisServer>;
  /** The data node that is not {@link primary}. */
  replica(): Promise<RedisServer>;
  /**
   * Resolves once every Sentinel names `server` as the primary, it answers `role:master`, and the
   * other data node (if running) replicates from it with the link up.
   */
  waitForPrimary(server: RedisServer, ms?: number): Promise<void>;
  /** Stops every process. */
  close(): Promise<void>;
}

export async function startSentinelGroup(): Promise<SentinelGroup> {
  const started: RedisServer[] = [];
  try {
    const first = await startRedisServer({ args: NO_SYNC_DELAY });
    started.push(first);
    const second = await startRedisServer({ args: [...NO_SYNC_DELAY, '--replicaof', HOST, String(first.port)] });
    started.push(second);
    const servers = [first, second];
    const config = [
      `sentinel monitor ${SENTINEL_MASTER_NAME} ${HOST} ${first.port} 2`,
      `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} 1000`,
      `sentinel failover-timeout ${SENTINEL_MASTER_NAME} 4000`,
      `sentinel parallel-syncs ${SENTINEL_MASTER_NAME} 1`,
      '',
    ].join('\n');
    const sentinels = await Promise.all([0, 1, 2].map(() => startRedisServer({ sentinel: true, config })));
    started.push(...sentinels);
    const masterPort = async (sentinel: RedisServer): Promise<number> =>
      Number(((await sentinel.command('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_MASTER_NAME)) as RespReply[])[1]);
    const group: SentinelGroup = {
      servers,
      sentinels,
      seeds: sentinels.map((s) => ({ host: HOST, port: s.port })),
      async primary() {
        const port = await masterPort(sentinels.find((s) => s.running)!);
        return servers.find((s) => s.port === port)!;
      },
      async replica() {
        const primary = await group.primary();
        return servers.find((s) => s !== primary)!;
      },
      waitForPrimary(server, ms = 20_000) {
        const other = servers.find((s) => s !== server)!;
        return until(
          `Sentinels to name ${server.port} primary`,
          async () => {
            for (const sentinel of sentinels) if ((await masterPort(sentinel)) !== server.port) return false;
            if (infoFields(await server.command('INFO', 'replication')).role !== 'master') return false;
            if (!other.running) return true;
            const replication = infoFields(await other.command('INFO', 'replication'));
            return replication.role === 'slave' && replication.master_port === String(server.port) && replication.master_link_status === 'up';
          },
          ms,
        );
      },
      close: () => stopAll(started),
    };
    // Ready: the replica is in sync, and every Sentinel knows it and the two other Sentinels
    // (found through hello messages, every 2 s), so a failover can be agreed on.
    await group.waitForPrimary(first);
    await until(
      'Sentinels to discover the replica and each other',
      async () => {
        for (const sentinel of sentinels) {
          const replicas = (await sentinel.command('SENTINEL', 'REPLICAS', SENTINEL_MASTER_NAME)) as RespReply[];
          const peers = (await sentinel.command('SENTINEL', 'SENTINELS', SENTINEL_MASTER_NAME)) as RespReply[];
          if (replicas.length < 1 || peers.length < 2) return false;
        }
        return true;
      },
      15_000,
    );
    return group;
  } catch (err) {
    await stopAll(started);
    throw err;
  }
}

/** `SENTINEL FAILOVER` on one Sentinel (forced, no agreement needed), answered `OK`. */
export async function forceFailover(group: SentinelGroup): Promise<void> {
  await redisCommand(group.sentinels[0]!.port, ['SENTINEL', 'FAILOVER', SENTINEL_MASTER_NAME]);
}

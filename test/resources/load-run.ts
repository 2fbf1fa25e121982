/*
 * One adapter under sustained mixed load, in a plain Node.js process (forked by load.test.ts with
 * --expose-gc), against the built packages (dist/) as an application runs them. Sends one message,
 * a LoadResult.
 *
 * The load runs in one-second slices with a forced GC after each. Without it the resident set
 * says little: V8 keeps the pages of a heap that grew between collections, so Express on Node.js 22
 * ended 80 to 140 MB higher after 25,000 requests with heapUsed, heapTotal and external flat (an
 * Express app without this library did the same), while with a GC each second the same run stays
 * within 12 MB over 35,000 requests. Native memory that a GC does not give back is what a leak
 * outside the JS heap looks like, and what the resident-set bound is for.
 */
import * as http from 'node:http';
import { MemoryReplayStore } from 'jwt-bearer-core';
import { listen } from '../support/hostile/http';
import { BODY_LIMIT, CONCURRENCY, drive, type RunStats } from '../support/hostile/load';
import { activeResources, settle } from '../support/hostile/process';
import { buildApp, type TargetConfig } from '../support/hostile/targets';
import { world } from '../support/hostile/world';

/** What one run measured; memory figures in bytes, as `process.memoryUsage()` gives them. */
export interface LoadResult {
  target: string;
  node: string;
  concurrency: number;
  /** Length of the warm-up and the requests it made. */
  warmupSeconds: number;
  warmupRequests: number;
  /** Length of the measured window. */
  seconds: number;
  /** Requests answered in the measured window (after the warm-up). */
  requests: number;
  stats: RunStats;
  before: NodeJS.MemoryUsage;
  after: NodeJS.MemoryUsage;
  /** TCP handle counts before the server started and after it closed. */
  baselineResources: Record<string, number>;
  leftResources: Record<string, number>;
}

function config(): TargetConfig {
  const c = world().config({ replayStore: new MemoryReplayStore({ max: 20_000 }) });
  // Short-lived assertions: replay entries expire within seconds, as in production.
  c.grant!.clockTolerance = 1;
  c.client!.clockTolerance = 1;
  return c;
}

async function waitForClosed(baseline: Record<string, number>): Promise<Record<string, number>> {
  let now = activeResources();
  for (let i = 0; i < 100 && ['TCPServerWrap', 'TCPSocketWrap'].some((t) => (now[t] ?? 0) > (baseline[t] ?? 0)); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    now = activeResources();
  }
  return now;
}

/** Length of one load slice; a forced GC follows each. */
const SLICE_SECONDS = 1;

export async function runLoad(target: 'express' | 'koa', loadSeconds: number, warmupSeconds: number): Promise<LoadResult> {
  const baselineResources = activeResources();
  const { handler } = buildApp(target, { ...config(), bodyLimit: BODY_LIMIT }, true);
  const server = await listen(handler);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const stats: RunStats = { requests: 0, unexpected: [], byKind: {}, slowestMs: 0 };
  let measured: Omit<LoadResult, 'leftResources'>;
  try {
    const sliced = async (seconds: number) => {
      const ends = performance.now() + seconds * 1000;
      while (performance.now() < ends) {
        await drive(server.url, agent, Math.min(performance.now() + SLICE_SECONDS * 1000, ends), stats);
        await settle();
      }
    };
    await sliced(warmupSeconds);
    const before = await settle();
    const warmupRequests = stats.requests;
    const started = performance.now();
    await sliced(loadSeconds);
    const seconds = (performance.now() - started) / 1000;
    const after = await settle();
    measured = {
      target,
      node: process.version,
      concurrency: CONCURRENCY,
      warmupSeconds,
      warmupRequests,
      seconds,
      requests: stats.requests - warmupRequests,
      stats,
      before,
      after,
      baselineResources,
    };
  } finally {
    agent.destroy();
    await server.close();
  }
  return { ...measured, leftResources: await waitForClosed(baselineResources) };
}

if (require.main === module) {
  const [target, load, warmup] = process.argv.slice(2);
  if ((target !== 'express' && target !== 'koa') || !(Number(load) > 0) || !(Number(warmup) >= 0)) {
    console.error('usage: load-run.ts express|koa <load seconds> <warm-up seconds>');
    process.exit(2);
  }
  runLoad(target, Number(load), Number(warmup))
    .then((result) => process.send!(result, () => process.exit(0)))
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}

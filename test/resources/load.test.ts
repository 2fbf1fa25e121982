/*
 * Sustained mixed load against both adapters on a real HTTP server (127.0.0.1, keep-alive agent),
 * run by load-run.ts in a plain Node.js process on the built packages: every answer is the expected
 * one, memory stays flat between the end of a warm-up and the end of the run (each measured after a
 * forced GC), and nothing stays open afterwards.
 *
 * Leaks of JS objects show in heapUsed, of buffers in `external`, of other native memory in the
 * resident set. The child collects garbage after every second of load, so V8 keeps no pages of a
 * heap grown between collections and the resident set stays within a few MB on every Node.js line
 * (load-run.ts says what it looked like otherwise); the bounds leave room for that and no more.
 * A plain Node.js process makes these the figures of an application, not of a Jest worker.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, requireBuiltPackages } from '../support/built';
import { MB } from '../support/hostile/process';
import { HTTP_TARGETS } from '../support/hostile/targets';
import { printIfFailing } from '../support/verbose';
import type { LoadResult } from './load-run';

const LOAD_SECONDS = Number(process.env.LOAD_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
const HEAP_BOUND_MB = 16;
const EXTERNAL_BOUND_MB = 16;
const RSS_BOUND_MB = 64;
const START_SECONDS = 30;

function runInChild(target: 'express' | 'koa'): Promise<LoadResult> {
  const stderr: string[] = [];
  const child = fork(join(__dirname, 'load-run.ts'), [target, String(LOAD_SECONDS), String(WARMUP_SECONDS)], {
    cwd: ROOT,
    execArgv: ['--expose-gc', '-r', 'ts-node/register/transpile-only'],
    env: { ...process.env, TS_NODE_PROJECT: join(ROOT, 'tsconfig.jest.json') },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  return new Promise((resolve, reject) => {
    let result: LoadResult | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), (LOAD_SECONDS + WARMUP_SECONDS + START_SECONDS) * 1000);
    child.on('message', (message) => {
      result = message as LoadResult;
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (result && code === 0) resolve(result);
      else reject(new Error(`load-run ${target} exited (${code ?? signal}) without a result:\n${stderr.join('').slice(0, 4000)}`));
    });
  });
}

const growth = (r: LoadResult, field: keyof NodeJS.MemoryUsage) => (r.after[field] - r.before[field]) / MB;
const mb = (bytes: number) => (bytes / MB).toFixed(1);
const signed = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(2)} MB`;

beforeAll(() => requireBuiltPackages(['jwt-bearer-core', 'express-jwt-bearer', 'koa-jwt-bearer']));

describe.each(HTTP_TARGETS)('%s under sustained mixed load', (target) => {
  test(
    `${LOAD_SECONDS} s of valid and invalid requests: every answer as expected, memory flat, nothing left open`,
    async () => {
      const r = await runInChild(target);
      const { stats, before, after } = r;
      const heapGrowth = growth(r, 'heapUsed');
      const externalGrowth = growth(r, 'external');
      const rssGrowth = growth(r, 'rss');
      const tcp = (counts: Record<string, number>, type: string) => counts[type] ?? 0;

      // The one line to report: printed when an assertion below fails, or with JWT_BEARER_TEST_VERBOSE=1.
      const report =
        `[resources] ${target} (${r.node}): ${r.requests} requests in ${r.seconds.toFixed(1)} s after a ${r.warmupSeconds} s warm-up ` +
        `(${Math.round(r.requests / r.seconds)} req/s, ${r.concurrency} concurrent, keep-alive), ` +
        `${stats.unexpected.length} unexpected answers, slowest ${Math.round(stats.slowestMs)} ms; ` +
        `heapUsed ${mb(before.heapUsed)} → ${mb(after.heapUsed)} MB (${signed(heapGrowth)}), ` +
        `rss ${mb(before.rss)} → ${mb(after.rss)} MB (${signed(rssGrowth)}), ` +
        `heapTotal ${mb(before.heapTotal)} → ${mb(after.heapTotal)} MB, external ${mb(before.external)} → ${mb(after.external)} MB; ` +
        `open TCP handles after close: server ${tcp(r.leftResources, 'TCPServerWrap')}/${tcp(r.baselineResources, 'TCPServerWrap')}, ` +
        `socket ${tcp(r.leftResources, 'TCPSocketWrap')}/${tcp(r.baselineResources, 'TCPSocketWrap')} (now/baseline)`;

      printIfFailing(report, () => {
        expect(stats.unexpected).toEqual([]);
        expect(r.requests).toBeGreaterThan(100 * LOAD_SECONDS);
        expect(Object.keys(stats.byKind).length).toBe(11);
        expect(stats.slowestMs).toBeLessThan(2000);
        expect(heapGrowth).toBeLessThan(HEAP_BOUND_MB);
        expect(externalGrowth).toBeLessThan(EXTERNAL_BOUND_MB);
        expect(rssGrowth).toBeLessThan(RSS_BOUND_MB);
        expect(tcp(r.leftResources, 'TCPServerWrap')).toBeLessThanOrEqual(tcp(r.baselineResources, 'TCPServerWrap'));
        expect(tcp(r.leftResources, 'TCPSocketWrap')).toBeLessThanOrEqual(tcp(r.baselineResources, 'TCPSocketWrap'));
      });
    },
    (LOAD_SECONDS + WARMUP_SECONDS + START_SECONDS + 5) * 1000,
  );
});

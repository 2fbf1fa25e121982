'use strict';
// Memory phase (a child of run.js, `node --expose-gc`): MemoryReplayStore holding 1M distinct
// jtis, keyed exactly as the core keys them (`client:<len>:<client_id>:<jti>`, jti a UUID).
// Reports heap bytes per entry (marginal, and including the store's up-front allocation) and RSS.

const crypto = require('node:crypto');
const { MemoryReplayStore } = require('jwt-bearer-core');
const c = require('./lib/common');

const N = Number(process.env.BENCH_MEMORY_ENTRIES ?? 1_000_000);

function snapshot() {
  global.gc();
  global.gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss, external: m.external + m.arrayBuffers };
}

async function main() {
  if (typeof global.gc !== 'function') throw new Error('run with --expose-gc');
  const scope = c.CLIENT_ID;
  const base = snapshot();
  const store = new MemoryReplayStore({ max: N });
  const empty = snapshot();
  const t0 = process.hrtime.bigint();
  let accepted = 0;
  for (let i = 0; i < N; i++) {
    // As in production: the jti is a flat string out of JSON.parse (crypto.randomUUID() itself
    // returns a rope of 20-odd pieces, which would triple the measured size), and the key is
    // built the way the core's verify/pipeline.ts builds it, one template literal per claim.
    const { jti } = JSON.parse(`{"jti":"${crypto.randomUUID()}"}`);
    if (await store.claim(`client:${scope.length}:${scope}:${jti}`, 330)) accepted += 1;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const full = snapshot();
  let refusedWhenFull = false;
  try {
    await store.claim(`client:${scope.length}:${scope}:${crypto.randomUUID()}`, 330);
  } catch (err) {
    refusedWhenFull = err?.name === 'ReplayStoreFullError';
  }
  const perEntry = (full.heap + full.external - (empty.heap + empty.external)) / N;
  const perEntryTotal = (full.heap + full.external - (base.heap + base.external)) / N;
  const result = {
    entries: N,
    accepted,
    size: store.size,
    claimsPerSecond: N / seconds,
    bytesPerEntry: perEntry,
    bytesPerEntryWithPreallocation: perEntryTotal,
    rssBefore: base.rss,
    rssAfter: full.rss,
    heapAfter: full.heap,
    refusedWhenFull,
  };
  if (process.send) process.send({ type: 'result', result }, () => process.exit(0));
  else console.log(JSON.stringify(result, null, 1));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

'use strict';
// Pre-minting a large pool of RS256 assertions (fresh jti each) on worker threads, before any
// timing: RSA signing is ≈ 10× the cost of a verification, so it cannot happen during the load.

const os = require('node:os');
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');
const c = require('./common');

if (!isMainThread) {
  const key = c.importKey(workerData.key);
  const tokens = new Array(workerData.count);
  for (let i = 0; i < workerData.count; i++) tokens[i] = c.mint(key, workerData.audience, { expiresIn: workerData.expiresIn });
  parentPort.postMessage(tokens);
}

/** Mints `count` assertions for `audience` with `key` (an exportKey() value) on all cores. */
async function mintPool(key, audience, count, expiresIn) {
  const threads = Math.max(1, Math.min(os.availableParallelism?.() ?? os.cpus().length, 8));
  const per = Math.ceil(count / threads);
  const parts = await Promise.all(
    Array.from(
      { length: threads },
      (_, i) =>
        new Promise((resolve, reject) => {
          const n = Math.min(per, count - i * per);
          if (n <= 0) return resolve([]);
          const worker = new Worker(__filename, { workerData: { key, audience, count: n, expiresIn } });
          worker.once('message', resolve);
          worker.once('error', reject);
        }),
    ),
  );
  return parts.flat();
}

module.exports = { mintPool };

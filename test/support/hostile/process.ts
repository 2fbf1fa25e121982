/*
 * Access to the real process from inside Jest's sandbox (whose `process` is a copy that never
 * receives 'unhandledRejection' / 'uncaughtException'), a forced GC, and resource counts.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

/** The Node.js process object itself, not Jest's copy. */
export const realProcess = vm.runInThisContext('process') as NodeJS.Process;

export interface ProcessErrors {
  readonly unhandledRejections: unknown[];
  readonly uncaughtExceptions: unknown[];
  stop(): void;
}

/** Records every unhandled rejection and uncaught exception until `stop()`. */
export function watchProcessErrors(): ProcessErrors {
  const unhandledRejections: unknown[] = [];
  const uncaughtExceptions: unknown[] = [];
  const onRejection = (reason: unknown) => unhandledRejections.push(reason);
  const onException = (err: unknown) => uncaughtExceptions.push(err);
  realProcess.on('unhandledRejection', onRejection);
  realProcess.on('uncaughtException', onException);
  return {
    unhandledRejections,
    uncaughtExceptions,
    stop() {
      realProcess.off('unhandledRejection', onRejection);
      realProcess.off('uncaughtException', onException);
    },
  };
}

let gcFn: (() => void) | undefined;

/** `global.gc` when Node runs with --expose-gc; otherwise the same function obtained at run time. */
export function gc(): () => void {
  if (gcFn) return gcFn;
  const exposed = (globalThis as { gc?: () => void }).gc ?? (realProcess as unknown as { gc?: () => void }).gc;
  if (typeof exposed === 'function') {
    gcFn = exposed;
  } else {
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc') as () => void;
  }
  return gcFn;
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Lets pending callbacks run and collects garbage until heapUsed stops falling. */
export async function settle(): Promise<NodeJS.MemoryUsage> {
  const collect = gc();
  let last = Infinity;
  for (let i = 0; i < 6; i++) {
    await tick();
    collect();
    await tick();
    const used = realProcess.memoryUsage().heapUsed;
    if (Math.abs(last - used) < 256 * 1024) break;
    last = used;
  }
  return realProcess.memoryUsage();
}

/** Counts of active libuv resources by type (TCPServerWrap, TCPSocketWrap, Timeout, …). */
export function activeResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of realProcess.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

export const MB = 1024 * 1024;

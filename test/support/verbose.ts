/**
 * Statistics the fuzz and load suites gather (cases run, requests per second, memory growth).
 * A passing run stays quiet: Jest prints every console call as a block with a stack location,
 * which reads like a failure. They are printed with JWT_BEARER_TEST_VERBOSE=1, and by
 * {@link printIfFailing} when the assertions they explain fail.
 */
export const VERBOSE = process.env.JWT_BEARER_TEST_VERBOSE === '1';

/** Prints a statistics line when JWT_BEARER_TEST_VERBOSE=1. */
export function printStatistics(line: string): void {
  if (VERBOSE) console.log(line);
}

/** Runs assertions; prints the statistics line when they fail (or when verbose), then rethrows. */
export function printIfFailing(line: string, assertions: () => void): void {
  try {
    assertions();
  } catch (err) {
    console.log(line);
    throw err;
  }
  printStatistics(line);
}

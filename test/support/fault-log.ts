/**
 * For suites that provoke 5xx without an `onError` hook: the core then writes one line per cause
 * to console.error (its default, so that a failing dependency is never silent). Each test of the
 * calling suite captures console.error, and afterwards asserts that everything written there was
 * such a line: the run stays quiet, and any other output on console.error still fails the test.
 * Call it inside a describe block (or at the top of a file).
 */
export function faultLinesOnly(): { lines: string[] } {
  const captured = { lines: [] as string[] };
  let spy: jest.SpyInstance | undefined;
  beforeEach(() => {
    captured.lines = [];
    spy = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      captured.lines.push(args.map(String).join(' '));
    });
  });
  afterEach(() => {
    spy?.mockRestore();
    for (const line of captured.lines)
      expect(line).toMatch(/^jwt-bearer: 5\d\d ERR_[A-Z_]+ \((grant|client assertion)\): .*\[logged at most once a minute per cause; set onError/);
  });
  return captured;
}

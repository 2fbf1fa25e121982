/**
 * Type tests: compiles test/tsconfig.json (the strict-mode example apps in this folder, which
 * import the adapters' published declarations from dist/) with the TypeScript compiler API and
 * expects no diagnostic; then compiles files with deliberate type errors and expects them found,
 * so a regression to `any` would not pass silently.
 */
import { dirname, join } from 'node:path';
import * as ts from 'typescript';

const CONFIG = join(__dirname, '..', 'tsconfig.json');

function parseConfig(): ts.ParsedCommandLine {
  const parsed = ts.getParsedCommandLineOfConfigFile(CONFIG, undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!parsed) throw new Error(`cannot read ${CONFIG}`);
  return parsed;
}

function format(diagnostics: readonly ts.Diagnostic[]): string[] {
  return diagnostics.map((d) => {
    const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
    const file = d.file ? `${d.file.fileName.replace(`${join(__dirname, '..', '..')}/`, '')}:${(where?.line ?? 0) + 1}` : '(config)';
    return `${file} TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  });
}

/** Compiles `rootNames` with the test tsconfig's options; `virtual` files exist only in memory. */
function compile(config: ts.ParsedCommandLine, rootNames: string[], virtual: Record<string, string> = {}, oldProgram?: ts.Program): ts.Program {
  const host = ts.createCompilerHost(config.options, true);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (name) => name in virtual || fileExists.call(host, name);
  host.readFile = (name) => virtual[name] ?? readFile.call(host, name);
  host.getSourceFile = (name, languageVersion, onError, shouldCreate) =>
    name in virtual ? ts.createSourceFile(name, virtual[name]!, languageVersion, true) : getSourceFile.call(host, name, languageVersion, onError, shouldCreate);
  return ts.createProgram({ rootNames, options: config.options, host, ...(oldProgram ? { oldProgram } : {}) });
}

let config: ts.ParsedCommandLine;
let program: ts.Program;

beforeAll(() => {
  config = parseConfig();
  program = compile(config, config.fileNames);
}, 60_000);

test('test/tsconfig.json extends the strict base, emits nothing and includes the example apps', () => {
  expect(config.errors).toEqual([]);
  expect(config.options.strict).toBe(true);
  expect(config.options.noEmit).toBe(true);
  expect(config.options.composite).toBe(false);
  const files = config.fileNames.map((f) => f.replace(`${dirname(CONFIG)}/`, ''));
  expect(files).toEqual(expect.arrayContaining(['types/express-app.ts', 'types/koa-app.ts', 'types/types.test.ts']));
});

test('the strict-mode Express and Koa apps compile with zero diagnostics', () => {
  expect(format(ts.getPreEmitDiagnostics(program))).toEqual([]);
});

test('the adapters are resolved from their published declarations, not from any', () => {
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(join(__dirname, 'express-app.ts'))!;
  const declarations: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const symbol = checker.getSymbolAtLocation(node.moduleSpecifier);
      for (const d of symbol?.declarations ?? []) declarations.push(`${node.moduleSpecifier.text} -> ${d.getSourceFile().fileName}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  expect(declarations).toEqual(expect.arrayContaining([expect.stringMatching(/^express-jwt-bearer -> .*packages\/express-jwt-bearer\/dist\/index\.d\.ts$/)]));
});

test('deliberate type errors are reported: the principal types are checked, not any', () => {
  const bad = {
    [join(__dirname, '__negative_express__.ts')]: [
      "import express from 'express';",
      "import 'express-jwt-bearer';",
      'const app = express();',
      "app.post('/token', (req, res) => {",
      '  const subject: number = req.jwtBearer?.grant?.subject ?? 0;',
      '  res.json({ subject, misspelt: req.jwtBearer?.client?.clientID });',
      '});',
    ].join('\n'),
    [join(__dirname, '__negative_koa__.ts')]: [
      "import Koa from 'koa';",
      "import { jwtBearerGrant, type JwtBearerState } from 'koa-jwt-bearer';",
      'const app = new Koa<Koa.DefaultState & JwtBearerState>();',
      "app.use(jwtBearerGrant({ issuer: 'https://as.example.com', issuers: [], bodyLimit: '100kb' }));",
      'app.use((ctx) => {',
      '  const scope: string = ctx.state.jwtBearer?.grant?.scope;',
      '  ctx.body = scope;',
      '});',
    ].join('\n'),
    [join(__dirname, '__negative_plain_koa__.ts')]: [
      "import Koa from 'koa';",
      "import { jwtBearerGrant } from 'koa-jwt-bearer';",
      'const app = new Koa();',
      "app.use(jwtBearerGrant({ issuer: 'https://as.example.com', issuers: [] }));",
      'app.use((ctx) => {',
      '  const scope: string = ctx.state.jwtBearer?.grant?.scope;',
      '  ctx.body = { scope, other: ctx.state.anythingElse };',
      '});',
    ].join('\n'),
  };
  const negative = compile(config, Object.keys(bad), bad, program);
  const found = format(ts.getPreEmitDiagnostics(negative));
  expect(found.length).toBeGreaterThanOrEqual(5);
  const text = found.join('\n');
  // string assigned to number; clientID is not clientId; bodyLimit is a number; string[] is not string.
  expect(text).toMatch(/__negative_express__\.ts:5 TS2322/);
  expect(text).toMatch(/__negative_express__\.ts:6 TS2551: Property 'clientID' does not exist/);
  expect(text).toMatch(/__negative_koa__\.ts:4 TS2322/);
  expect(text).toMatch(/__negative_koa__\.ts:6 TS2322/);
  // A plain new Koa(): jwtBearer is typed through Koa's DefaultState; the rest of the state stays any.
  expect(text).toMatch(/__negative_plain_koa__\.ts:6 TS2322/);
  expect(text).not.toMatch(/__negative_plain_koa__\.ts:7/);
});

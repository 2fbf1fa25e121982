'use strict';
// Per-Node-line results: a full run of bench/run.js writes results/node-<major>.md (its whole
// report) and results/node-<major>.json (its budget lines and the serverOptions figures), then
// rebuilds RESULTS.md from every results/node-*.json there, so that each supported Node line's
// latest full run stays side by side with the others.

const fs = require('node:fs');
const path = require('node:path');
const c = require('./common');

const INTRO = [
  'Written by `npm run bench` (bench/run.js): each full run replaces the results of its own Node line and rebuilds this',
  'page from the latest run of every line. Only ratios measured side by side in one run are meaningful; absolute figures',
  'depend on the machine and on whatever else it was doing, and runs on different lines were taken at different times.',
  'How each figure is measured: [bench/README.md](README.md).',
];

/** Writes this run's files and rebuilds RESULTS.md; returns the paths written. */
function writeResults(dir, run) {
  const major = Number(process.versions.node.split('.')[0]);
  const resultsDir = path.join(dir, 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const mdFile = path.join(resultsDir, `node-${major}.md`);
  const jsonFile = path.join(resultsDir, `node-${major}.json`);
  const report = [
    `# Benchmark results on Node ${major}`,
    '',
    `The latest full \`npm run bench\` on Node ${major}; all lines side by side: [RESULTS.md](../RESULTS.md).`,
    '',
    run.header,
    '',
    run.budgetText,
    '',
    run.footer,
    '',
    ...run.sections.flatMap((s) => [s, '']),
  ]
    .join('\n')
    // The sections link relative to bench/; this file is one folder deeper.
    .replaceAll('](../docs/', '](../../docs/');
  fs.writeFileSync(mdFile, report);
  const record = {
    node: process.version,
    major,
    date: new Date().toISOString(),
    machine: `${run.machine.nproc} × ${run.machine.model}, ${c.fmtBytes(run.machine.memory)} RAM, ${run.machine.platform}`,
    load: run.machine.load,
    versions: run.versions,
    budget: run.budget.map((b) => ({
      check: b.check,
      measured: b.fmt(b.value),
      cpu: b.cpu === undefined ? null : Number.isFinite(b.cpu) ? `${b.cpu.toFixed(3)}×` : 'n/a',
      target: b.targetText,
      met: b.met === true,
      reference: b.reference === true,
    })),
    serverOptions: run.facts.serverOptions ?? null,
    koaNoopCpu: run.facts.koaNoopCpu ?? null,
  };
  fs.writeFileSync(jsonFile, `${JSON.stringify(record, null, 2)}\n`);
  const summary = path.join(dir, 'RESULTS.md');
  fs.writeFileSync(summary, summaryPage(readRecords(resultsDir)));
  return [mdFile, jsonFile, summary];
}

function readRecords(resultsDir) {
  return fs
    .readdirSync(resultsDir)
    .filter((f) => /^node-\d+\.json$/.test(f))
    .map((f) => JSON.parse(fs.readFileSync(path.join(resultsDir, f), 'utf8')))
    .sort((a, b) => a.major - b.major);
}

/** RESULTS.md: the budget of every line side by side, what serverOptions(app) buys on each, links to the reports. */
function summaryPage(records) {
  const out = ['# Benchmark results', '', ...INTRO, ''];
  out.push('## Budget on each Node line ([docs/DESIGN.md §7](../docs/DESIGN.md#7-performance-budget))', '');
  const checks = [];
  for (const r of records) for (const b of r.budget) if (!checks.includes(b.check)) checks.push(b.check);
  const rows = checks.map((check) => {
    const cells = records.map((r) => {
      const b = r.budget.find((x) => x.check === check);
      if (!b) return '—';
      const status = b.reference ? (b.met ? '(would be met)' : '(would not be met)') : b.met ? 'met' : '**NOT MET**';
      return `${b.measured} ${status}`;
    });
    const target = records.map((r) => r.budget.find((x) => x.check === check)?.target).find((t) => t !== undefined);
    return [check, ...cells, target];
  });
  out.push(c.table(['check', ...records.map((r) => `Node ${r.node}`), 'target'], rows), '');
  const counted = (r) => r.budget.filter((b) => !b.reference);
  out.push(records.map((r) => `Node ${r.major}: ${counted(r).filter((b) => b.met).length} of ${counted(r).length} budget lines met.`).join(' '), '');
  out.push(
    "Status is judged on the measured figure (req/s for HTTP); each line's full report also gives the ratio by server CPU",
    'time per request, which a busy machine disturbs less. "Reference" lines are not counted.',
    '',
  );

  const withServer = records.filter((r) => Array.isArray(r.serverOptions));
  if (withServer.length > 0) {
    out.push('## Express with and without `serverOptions(app)`', '');
    out.push(
      'The same Express app behind Node\'s default `http.createServer(app)` ("plain") and behind',
      '`http.createServer(serverOptions(app), app)`, measured side by side in one run per line; server CPU per request in µs.',
      '',
    );
    const label = { noop: 'no-op route', 'raw-client': 'hand-written client_credentials route', client: 'clientAssertion route' };
    const soRows = [];
    for (const r of withServer) {
      for (const s of r.serverOptions) {
        soRows.push([
          `Node ${r.major}`,
          label[s.route] ?? s.route,
          `${c.fmtInt(s.plainRps)} → ${c.fmtInt(s.rps)}`,
          c.fmtRatio(s.ratio),
          `${c.fmtInt(s.plainCpu)} → ${c.fmtInt(s.cpu)}`,
          c.fmtInt(s.plainCpu - s.cpu),
        ]);
      }
    }
    out.push(c.table(['Node', 'route', 'req/s plain → serverOptions', 'ratio', 'CPU µs/request plain → serverOptions', 'µs saved'], soRows), '');
    out.push(withServer.map((r) => `Koa's no-op route on Node ${r.major}: ${c.fmtInt(r.koaNoopCpu)} µs.`).join(' '), '');
  }

  out.push('## Full reports', '');
  for (const r of records) {
    out.push(
      `- [Node ${r.major}](results/node-${r.major}.md): ${r.node}, ${r.date}, ${r.machine}, load average at start ${r.load.map((x) => x.toFixed(2)).join(' ')}`,
    );
  }
  out.push('');
  return out.join('\n');
}

module.exports = { writeResults, summaryPage };

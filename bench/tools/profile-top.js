'use strict';
// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function, and total
// (inclusive) time of functions whose file matches a filter.
//   node bench/tools/profile-top.js <file.cpuprofile> [topN] [filter-regex-for-inclusive]

const fs = require('node:fs');
const path = require('node:path');

const [file, topArg, filter] = process.argv.slice(2);
const top = Number(topArg ?? 40);
const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const ch of n.children ?? []) parent.set(ch, n.id);
const dt = new Map();
for (let i = 0; i < prof.samples.length; i++) dt.set(prof.samples[i], (dt.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
const total = [...dt.values()].reduce((a, b) => a + b, 0);

const label = (n) => {
  const f = n.callFrame;
  const url = f.url
    ? f.url
        .replace(/^file:\/\//, '')
        .replace(/^.*node_modules\//, 'nm/')
        .replace(process.cwd() + '/', '')
    : '';
  return `${f.functionName || '(anonymous)'} ${url ? `${path.basename(path.dirname(url))}/${path.basename(url)}:${f.lineNumber + 1}` : ''}`.trim();
};
const self = new Map();
for (const [id, t] of dt) {
  const k = label(byId.get(id));
  self.set(k, (self.get(k) ?? 0) + t);
}
const pct = (t) => `${((100 * t) / total).toFixed(1).padStart(5)}%`;
console.log(`total sampled ${(total / 1000).toFixed(0)} ms`);
console.log('--- self time');
for (const [k, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(t), k);
if (filter) {
  // Inclusive time: a sample counts once for every distinct matching function on its stack.
  const re = new RegExp(filter);
  const incl = new Map();
  for (const [id, t] of dt) {
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      const k = label(n);
      if (!re.test(k) || seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + t);
    }
  }
  console.log(`--- inclusive time of /${filter}/`);
  for (const [k, t] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(t), k);
}

// Callee breakdown: PROFILE_CALLEES=regex prints, for the functions matching it, the inclusive
// time of each direct callee (and the function's own self time).
if (process.env.PROFILE_CALLEES) {
  const re = new RegExp(process.env.PROFILE_CALLEES);
  const inclusiveOf = new Map();
  const subtree = (id) => {
    if (inclusiveOf.has(id)) return inclusiveOf.get(id);
    const n = byId.get(id);
    let t = dt.get(id) ?? 0;
    for (const ch of n.children ?? []) t += subtree(ch);
    inclusiveOf.set(id, t);
    return t;
  };
  const agg = new Map();
  let own = 0;
  let all = 0;
  for (const n of prof.nodes) {
    if (!re.test(label(n))) continue;
    // Skip recursive nesting: only outermost matches.
    let nested = false;
    for (let p = parent.get(n.id); p !== undefined; p = parent.get(p)) if (re.test(label(byId.get(p)))) nested = true;
    if (nested) continue;
    all += subtree(n.id);
    own += dt.get(n.id) ?? 0;
    for (const ch of n.children ?? []) {
      const k = label(byId.get(ch));
      agg.set(k, (agg.get(k) ?? 0) + subtree(ch));
    }
  }
  console.log(`--- callees of /${process.env.PROFILE_CALLEES}/ (${pct(all)} inclusive, ${pct(own)} self)`);
  for (const [k, t] of [...agg].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(t), `${((100 * t) / all).toFixed(1).padStart(5)}% of it`, k);
}

// The top frames of a V8 CPU profile (`.cpuprofile`, as written by `node --cpu-prof` or
// `node bench/run.mjs --cpu-prof DIR`), as text: self time and inclusive time per function, in
// percent of the time the process was busy. For the flame graph itself, open the same file in
// Chrome DevTools (Performance → Load profile) or https://www.speedscope.app.
//   node bench/profile-top.mjs <file.cpuprofile> [top=30] [--under <regexp>]
// With --under, only the frames called (directly or not) by a function whose "name file:line"
// matches the expression, with their self time in ms.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { under: { type: 'string' } },
});
const [file, topArg] = positionals;
if (!file) {
  process.stderr.write('usage: node bench/profile-top.mjs <file.cpuprofile> [top] [--under <regexp>]\n');
  process.exit(2);
}
const top = Number(topArg ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8'));

const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parentOf = new Map();
for (const n of profile.nodes) for (const child of n.children ?? []) parentOf.set(child, n.id);
const label = (n) => {
  const f = n.callFrame;
  const where = f.url ? `${f.url.replace(/^.*\//, '')}:${f.lineNumber + 1}` : '';
  return `${f.functionName || '(anonymous)'} ${where}`.trim();
};

// Microseconds sampled in each node, from the sample list and its time deltas.
const sampled = new Map();
profile.samples.forEach((id, i) => {
  sampled.set(id, (sampled.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});

const ancestry = (id) => {
  const out = [];
  for (let cur = id; cur !== undefined; cur = parentOf.get(cur)) out.push(label(nodes.get(cur)));
  return out;
};

const ms = (us) => `${(us / 1000).toFixed(0)} ms`.padStart(9);

if (values.under) {
  const re = new RegExp(values.under);
  const self = new Map();
  let total = 0;
  for (const [id, us] of sampled) {
    if (!ancestry(id).some((l) => re.test(l))) continue;
    total += us;
    const k = label(nodes.get(id));
    self.set(k, (self.get(k) ?? 0) + us);
  }
  console.log(`${ms(total)} under /${values.under}/`);
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(us)}  ${k}`);
  process.exit(0);
}

const self = new Map();
const inclusive = new Map();
let total = 0;
let idle = 0;
for (const [id, us] of sampled) {
  total += us;
  const n = nodes.get(id);
  if (n.callFrame.functionName === '(idle)') {
    idle += us;
    continue;
  }
  const k = label(n);
  self.set(k, (self.get(k) ?? 0) + us);
  for (const l of new Set(ancestry(id))) inclusive.set(l, (inclusive.get(l) ?? 0) + us);
}
const busy = total - idle;
const pct = (us) => `${((us / busy) * 100).toFixed(1)}%`.padStart(6);
console.log(
  `profile ${(total / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s, idle ${(idle / 1e6).toFixed(1)} s`,
);
console.log('\nself time (% of busy)');
for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${k}`);
console.log('\ninclusive time (% of busy)');
for (const [k, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  if (k.startsWith('(root)')) continue;
  console.log(`${pct(us)}  ${k}`);
}

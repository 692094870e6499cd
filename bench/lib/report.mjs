// The summary: Hookline's figures beside the references, each target marked met or not met, and the
// whole result written as JSON to bench/results/<timestamp>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fmt } from './progress.mjs';

const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

const ok = (s) => s && !s.error && !s.skipped;
const dps = (s) => (ok(s) ? s.deliveriesPerSec : null);
const ratio = (a, b) => (a === null || a === undefined || !b ? null : a / b);
const rate = (v) => (v === null || v === undefined ? '—' : `${fmt(v)}/s`);
const ms = (v) => (v === null || v === undefined ? '—' : `${fmt(v, v < 10 ? 2 : 1)} ms`);
const mb = (v) => (v === null || v === undefined ? '—' : `${fmt(v)} MB`);
const x = (v) => (v === null ? '—' : `${fmt(v, v < 10 ? 3 : 1)}×`);
const verdict = (pass) => (pass === null ? 'n/a' : pass ? 'met' : 'NOT MET');
const why = (s) => (s?.error ? `error: ${s.error}` : s?.skipped ? `skipped: ${s.skipped}` : '—');

/** Each target: { name, value, target, pass (true|false|null when it could not be measured) }. */
export function evaluateTargets(s) {
  const lat = ok(s.latency) ? s.latency.latencyMs : null;
  const fairness = ratio(dps(s.fairness), dps(s.throughput));
  const drain = ratio(dps(s.backlog), dps(s.throughput));
  const backlogRss = ok(s.backlog)
    ? Math.max(s.backlog.server.vmHwmMb ?? 0, s.backlog.rssMb.drainPeak ?? 0)
    : null;
  const pg = ratio(dps(s.postgres), dps(s.pgboss));
  const vsUndici = ratio(dps(s.throughput), dps(s.undiciThroughput));
  const vsBullmq = ratio(dps(s.throughput), dps(s.bullmqThroughput));
  const hooklineRuns = ['throughput', 'latency', 'fairness', 'backlog', 'postgres'].filter((k) => ok(s[k]));
  // A drain cut off at its time limit says nothing about loss.
  const missing = hooklineRuns
    .filter((k) => !s[k].drainLimited)
    .reduce((n, k) => n + Math.max(0, s[k].missing), 0);
  const crashed = hooklineRuns.filter((k) => s[k].server?.crashed || s[k].processes?.some((p) => p.crashed));
  const cmp = (v, pass) => (v === null || v === undefined ? null : pass);
  return [
    {
      name: 'throughput / raw undici (a)',
      value: x(vsUndici),
      target: '≥ 0.60×',
      pass: cmp(vsUndici, vsUndici >= 0.6),
    },
    {
      name: 'throughput / BullMQ (a)',
      value: x(vsBullmq),
      target: '≥ 2.5×',
      pass: cmp(vsBullmq, vsBullmq >= 2.5),
    },
    { name: 'latency p50 (b)', value: ms(lat?.p50), target: '≤ 2 ms', pass: cmp(lat?.p50, lat?.p50 <= 2) },
    { name: 'latency p99 (b)', value: ms(lat?.p99), target: '≤ 15 ms', pass: cmp(lat?.p99, lat?.p99 <= 15) },
    {
      name: 'fairness: healthy rate / (a)',
      value: x(fairness),
      target: '≥ 0.90×',
      pass: cmp(fairness, fairness >= 0.9),
    },
    {
      name: 'backlog peak RSS (d)',
      value: mb(backlogRss),
      target: '< 300 MB',
      pass: cmp(backlogRss, backlogRss < 300),
    },
    { name: 'backlog drain rate / (a)', value: x(drain), target: '≥ 0.80×', pass: cmp(drain, drain >= 0.8) },
    { name: 'PostgreSQL rate / pg-boss (f)', value: x(pg), target: '≥ 2×', pass: cmp(pg, pg >= 2) },
    {
      name: 'no delivery lost, no crash',
      value: `${fmt(missing)} missing, ${crashed.length} crashed`,
      target: '0, 0',
      pass: hooklineRuns.length ? missing === 0 && crashed.length === 0 : null,
    },
  ];
}

const us = (v) => fmt(v, 1);

/**
 * A throughput run's CPU in µs a delivery, by process (`main`: its main thread; `+`: its other
 * threads), and the machine's idle share over the run: "server 17.9 + 23.1, receiver 16.0; 24% idle".
 */
function cpuCell(s, names) {
  const c = ok(s) ? s.cpu : null;
  if (!c) return '—';
  const parts = Object.entries(names).map(([key, label]) => {
    const p = c.processes[key];
    if (!p) return `${label} —`;
    return p.otherUs >= 0.05 ? `${label} ${us(p.mainUs)} + ${us(p.otherUs)}` : `${label} ${us(p.mainUs)}`;
  });
  const idle = c.machineIdle === null ? '' : `; ${fmt(c.machineIdle * 100)}% idle`;
  return `${parts.join(', ')}${idle}`;
}

/** A median of rounds with its spread: "14,856/s (3 rounds: 12,137–15,012)". */
function rateOfRounds(s) {
  const r = s?.rounds;
  if (!ok(s) || !r || r.length < 2) return rate(dps(s));
  return `${rate(dps(s))} (${r.length} rounds: ${fmt(Math.min(...r))}–${fmt(Math.max(...r))})`;
}

function rows(s) {
  const a = dps(s.throughput);
  const lat = (k) => (ok(s[k]) ? s[k].latencyMs : {});
  const hl = lat('latency');
  const refLat = (q) => `undici ${ms(lat('undiciLatency')[q])}, BullMQ ${ms(lat('bullmqLatency')[q])}`;
  const d = s.backlog;
  return [
    [
      '(a) throughput, SQLite, 10 webhooks',
      ok(s.throughput) ? rateOfRounds(s.throughput) : why(s.throughput),
      '',
      '',
    ],
    [
      '    vs raw undici, 64 in flight',
      '',
      rateOfRounds(s.undiciThroughput),
      x(ratio(a, dps(s.undiciThroughput))),
    ],
    [
      '    vs BullMQ + Redis, concurrency 64',
      '',
      rateOfRounds(s.bullmqThroughput),
      x(ratio(a, dps(s.bullmqThroughput))),
    ],
    [
      '(a) CPU µs a delivery (main + other threads)',
      cpuCell(s.throughput, { hookline: 'server', receiver: 'receiver', harness: 'harness' }),
      `undici: ${cpuCell(s.undiciThroughput, { harness: 'sender', receiver: 'receiver' })}`,
      '',
    ],
    [
      `(b) latency p50, ${fmt(s.latency?.rate)}/s`,
      ok(s.latency) ? ms(hl.p50) : why(s.latency),
      refLat('p50'),
      '',
    ],
    ['(b) latency p99', ms(hl.p99), refLat('p99'), ''],
    ['(b) latency max', ms(hl.max), refLat('max'), ''],
    [
      `(b) at ${fmt(s.latency?.light?.rate)}/s (light load): p50 / p99 / max`,
      ok(s.latency)
        ? `${ms(s.latency.light.latencyMs.p50)} / ${ms(s.latency.light.latencyMs.p99)} / ${ms(s.latency.light.latencyMs.max)}`
        : '—',
      '',
      '',
    ],
    [
      `(b) publishes/s answered (offered ${fmt(s.latency?.rate)}/s)`,
      ok(s.latency) ? rate(s.latency.acceptedRate) : '—',
      `undici ${rate(s.undiciLatency?.acceptedRate)}, BullMQ ${rate(s.bullmqLatency?.acceptedRate)}`,
      '',
    ],
    [
      '(c) fairness, +1 hanging webhook',
      ok(s.fairness) ? rate(dps(s.fairness)) : why(s.fairness),
      `(a) ${rate(a)}`,
      x(ratio(dps(s.fairness), a)),
    ],
    [
      `(d) backlog drain, ${ok(d) ? fmt(d.expected) : '—'} deliveries`,
      ok(d) ? rate(dps(d)) : why(d),
      `(a) ${rate(a)}`,
      x(ratio(dps(d), a)),
    ],
    [
      '(d) delivered / reactivation (10 PATCHes)',
      ok(d)
        ? `${fmt(d.received)} in ${fmt(d.seconds, 1)} s${d.drainLimited ? ' (cut at --drain-limit)' : ''} / ` +
          `${fmt(d.patchMs.reduce((a, b) => a + b, 0))} ms`
        : '—',
      '',
      '',
    ],
    [
      '(d) RSS idle / half / full backlog held',
      ok(d) ? `${fmt(d.rssMb.idle)} / ${fmt(d.rssMb.heldHalf)} / ${fmt(d.rssMb.heldFull)} MB` : '—',
      '',
      '',
    ],
    [
      '(d) RSS draining: ¾ / ¼ left, peak, VmHWM',
      ok(d)
        ? `${fmt(d.rssMb.drainQuarter)} / ${fmt(d.rssMb.drainThreeQuarters)} / ${fmt(d.rssMb.drainPeak)} / ${fmt(d.server.vmHwmMb)} MB`
        : '—',
      '',
      '',
    ],
    [
      '(f) PostgreSQL, 1 api + 2 workers',
      ok(s.postgres) ? rate(dps(s.postgres)) : why(s.postgres),
      ok(s.pgboss) ? `pg-boss 8×250 ${rate(dps(s.pgboss))}` : `pg-boss ${why(s.pgboss)}`,
      x(ratio(dps(s.postgres), dps(s.pgboss))),
    ],
  ];
}

function table(header, body) {
  const all = [header, ...body];
  const widths = header.map((_, c) => Math.max(...all.map((r) => String(r[c]).length)));
  const line = (r) =>
    r
      .map((cell, c) => String(cell).padEnd(widths[c]))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export function renderReport(results) {
  const s = results.scenarios;
  const targets = evaluateTargets(s);
  results.targets = targets;
  const m = results.meta;
  return [
    '',
    `Hookline benchmark — ${m.date}, ${m.nproc} CPUs, node ${m.node}, ${m.quick ? 'quick' : 'full'} run, ` +
      `payload ${m.payloadBytes} bytes, API rate limit off`,
    '',
    table(['measure', 'Hookline', 'reference', 'ratio'], rows(s)),
    '',
    table(
      ['target', 'measured', 'target', 'result'],
      targets.map((t) => [t.name, t.value, t.target, verdict(t.pass)]),
    ),
    '',
  ].join('\n');
}

export function writeResults(results) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = `${RESULTS_DIR}${results.meta.date.replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

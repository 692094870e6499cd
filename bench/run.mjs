// `npm run bench` — Hookline's benchmark harness. See bench/README.md.
//   node bench/run.mjs [--quick] [--only a,b,c,d,e,f] [--messages N] [--backlog N]
//                      [--latency-seconds S] [--rate R] [--light-rate R] [--pg-messages N] [--drain-limit S]
//                      [--rounds N] [--database-url URL] [--cpu-prof DIR]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { profileInto } from './lib/hookline.mjs';
import { PAYLOAD_BYTES } from './lib/payload.mjs';
import { cleanup, installExitHandlers, isShuttingDown, onCleanup, wasInterrupted } from './lib/processes.mjs';
import { fmt, log } from './lib/progress.mjs';
import { Receiver } from './lib/receiver.mjs';
import { bullmqLatency, bullmqThroughput } from './lib/reference-bullmq.mjs';
import { pgBossThroughput } from './lib/reference-pgboss.mjs';
import { undiciLatency, undiciThroughput } from './lib/reference-undici.mjs';
import { renderReport, writeResults } from './lib/report.mjs';
import { postgresThroughput } from './lib/scenarios-postgres.mjs';
import { backlog, latency, throughput, WEBHOOKS } from './lib/scenarios-sqlite.mjs';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', default: 'a,b,c,d,e,f' },
    messages: { type: 'string' },
    backlog: { type: 'string' },
    'latency-seconds': { type: 'string' },
    rate: { type: 'string', default: '1000' },
    'light-rate': { type: 'string', default: '100' },
    'pg-messages': { type: 'string' },
    'drain-limit': { type: 'string' },
    rounds: { type: 'string' },
    'database-url': { type: 'string', default: process.env.HOOKLINE_TEST_DATABASE_URL },
    'cpu-prof': { type: 'string' },
  },
});
const quick = args.quick;
const num = (v, full, small) => Number(v ?? (quick ? small : full));
const opts = {
  quick,
  messages: num(args.messages, 50_000, 500), // × 10 webhooks
  backlog: num(args.backlog, 500_000, 50_000), // deliveries
  latencySeconds: num(args['latency-seconds'], 20, 5),
  rate: Number(args.rate),
  lightRate: Number(args['light-rate']),
  pgMessages: num(args['pg-messages'], 10_000, 500), // × 10 webhooks
  drainLimitSeconds: num(args['drain-limit'], 240, 60), // (d) stops waiting for the drain after this
  rounds: num(args.rounds, 3, 1), // (a) and its two references, run in turn this many times
  databaseUrl: args['database-url'] ?? null,
  only: new Set(args.only.split(',').map((s) => s.trim())),
};

if (args['cpu-prof']) profileInto(resolve(args['cpu-prof']));

if (!existsSync(fileURLToPath(new URL('../dist/cli/main.js', import.meta.url)))) {
  process.stderr.write('bench: dist/ is missing: run `npm run build` first (or `npm run bench`)\n');
  process.exit(2);
}

const git = (...a) => spawnSync('git', a, { encoding: 'utf8' }).stdout?.trim() || null;
const results = {
  meta: {
    date: new Date().toISOString(),
    nproc: availableParallelism(),
    node: process.version,
    quick,
    commit: git('rev-parse', '--short', 'HEAD'),
    dirtyWorkTree: Boolean(git('status', '--porcelain', '--untracked-files=no')),
    loadavgAtStart: loadavg(),
    payloadBytes: PAYLOAD_BYTES,
    options: { ...opts, only: [...opts.only], databaseUrl: opts.databaseUrl ? '(set)' : null },
    notes: [
      'HOOKLINE_API_RATE_LIMIT=off for every Hookline process (the per-key API limit would cap publishing)',
      'SQLite at its defaults (WAL, synchronous=FULL) on a temp file; a fresh server and database per scenario',
    ],
  },
  scenarios: {},
};

async function scenario(key, letter, fn) {
  if (isShuttingDown()) return; // Ctrl-C: start nothing new while clean-up runs
  if (!opts.only.has(letter)) {
    results.scenarios[key] = { skipped: 'not selected (--only)' };
    return;
  }
  try {
    results.scenarios[key] = await fn();
  } catch (err) {
    results.scenarios[key] = { error: err.message };
    if (!isShuttingDown()) log(key, `FAILED: ${err.stack}`);
  }
}

/**
 * Runs each [key, letter, fn(phase), phase] in turn, `n` times over; the scenario's result is its
 * median round (by deliveries/s; the lower middle one for an even `n`) with every round's rate in
 * `rounds`. Losses and crashes of any round count.
 */
async function inRounds(n, specs) {
  const runs = new Map(specs.map(([key]) => [key, []]));
  for (let round = 1; round <= n; round++) {
    for (const [key, letter, fn, phase] of specs) {
      if (n > 1 && opts.only.has(letter)) log(phase, `round ${round} of ${n}`);
      await scenario(key, letter, () => fn(phase));
      runs.get(key).push(results.scenarios[key]);
    }
  }
  for (const [key, list] of runs) results.scenarios[key] = medianRound(list);
}

function medianRound(list) {
  const failed = list.find((r) => r.error || r.skipped);
  if (failed) return failed;
  if (list.length === 1) return list[0];
  const sorted = [...list].sort((a, b) => (a.deliveriesPerSec ?? 0) - (b.deliveriesPerSec ?? 0));
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  const out = {
    ...median,
    rounds: list.map((r) => r.deliveriesPerSec),
    missing: list.reduce((sum, r) => sum + Math.max(0, r.missing ?? 0), 0),
  };
  const crashed = list.find((r) => r.server?.crashed);
  if (crashed) out.server = crashed.server;
  return out;
}

installExitHandlers();
let exitCode = 0;
try {
  const tmpDir = mkdtempSync(join(tmpdir(), 'hookline-bench-'));
  onCleanup(() => rmSync(tmpDir, { recursive: true, force: true }));
  const rx = await Receiver.start();
  const ctx = { rx, tmpDir, opts };
  const deliveries = opts.messages * WEBHOOKS;
  log(
    'start',
    `${quick ? 'quick' : 'full'} run on ${results.meta.nproc} CPUs (load ${loadavg()[0].toFixed(2)}); ` +
      `receiver ${rx.url}; ${fmt(deliveries)} deliveries per throughput run, backlog ${fmt(opts.backlog)}, ` +
      `latency ${opts.latencySeconds} s at ${fmt(opts.rate)}/s; API rate limit off`,
  );
  // The throughput ratios compare runs minutes apart, and this machine's speed drifts by ±15% over
  // minutes: (a) and its references take turns, `--rounds` times, and each reports its median.
  await inRounds(opts.rounds, [
    [
      'undiciThroughput',
      'e',
      (phase) => undiciThroughput(ctx, { phase, prefix: '/e-undici/', deliveries, webhooks: WEBHOOKS }),
      'e undici',
    ],
    ['throughput', 'a', (phase) => throughput(ctx, { phase, prefix: '/a/' }), 'a through'],
    [
      'bullmqThroughput',
      'e',
      (phase) => bullmqThroughput(ctx, { phase, prefix: '/e-bullmq/', deliveries, webhooks: WEBHOOKS }),
      'e bullmq',
    ],
  ]);
  await scenario('fairness', 'c', () => throughput(ctx, { phase: 'c fairness', prefix: '/c/', hang: true }));
  await scenario('latency', 'b', () => latency(ctx, { phase: 'b latency', prefix: '/b/' }));
  await scenario('undiciLatency', 'e', () =>
    undiciLatency(ctx, { phase: 'e undici lat', prefix: '/e-undici-lat/' }),
  );
  await scenario('bullmqLatency', 'e', () =>
    bullmqLatency(ctx, { phase: 'e bullmq lat', prefix: '/e-bullmq-lat/' }),
  );
  await scenario('backlog', 'd', () => backlog(ctx, { phase: 'd backlog', prefix: '/d/' }));
  const pg = { databaseUrl: opts.databaseUrl, webhooks: WEBHOOKS };
  if (!opts.databaseUrl) {
    const skipped = 'HOOKLINE_TEST_DATABASE_URL is not set';
    results.scenarios.postgres = { skipped };
    results.scenarios.pgboss = { skipped };
    log('f postgres', `skipped: ${skipped}`);
  } else {
    await scenario('postgres', 'f', () =>
      postgresThroughput(ctx, { ...pg, phase: 'f postgres', prefix: '/f/', messages: opts.pgMessages }),
    );
    await scenario('pgboss', 'f', () =>
      pgBossThroughput(ctx, {
        ...pg,
        phase: 'f pg-boss',
        prefix: '/f-pgboss/',
        deliveries: opts.pgMessages * WEBHOOKS,
      }),
    );
  }
  if (wasInterrupted()) throw new Error('interrupted');
  results.meta.loadavgAtEnd = loadavg();
  process.stdout.write(renderReport(results));
  log('done', `results written to ${writeResults(results)}`);
  if (Object.values(results.scenarios).some((s) => s.error)) exitCode = 1;
} catch (err) {
  if (!wasInterrupted()) process.stderr.write(`bench: ${err.stack}\n`);
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(wasInterrupted() ? 130 : exitCode);

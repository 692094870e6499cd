// Throughput of the scale-out topology: N `--role api` processes and M `--role worker` processes
// on one PostgreSQL database, delivering to one local receiver that answers 200 at once.
//
//   npx tsc -p tsconfig.json
//   node bench/postgres-scale.mjs [--database-url postgres://…] [--messages 20000] [--webhooks 1]
//                                 [--topologies 1x2,1x3] [--mode both|backlog|live]
//                                 [--worker-options="-c synchronous_commit=off"]
//
// Each topology runs in a fresh schema (dropped afterwards), in two ways:
//   backlog  the api process publishes every message (batches of 1000) with no worker running:
//            publish throughput; then the workers start and drain the backlog: delivery throughput
//            from the first receipt to the last.
//   live     the workers run while the messages are published: end to end, from the first
//            publish to the last receipt.
// Node built-ins and the built dist/ only. CPU seconds are read from /proc (Linux): per role, and
// for every `postgres` process on the machine (meaningful when PostgreSQL runs here).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PostgresStore } from '../dist/store/postgres/postgres-store.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const ADMIN_KEY = `hk_admin_bench_${randomBytes(16).toString('hex')}`;
const BATCH = 1000;
const EVENT_TYPE = 'bench.tick';

const { values: args } = parseArgs({
  options: {
    'database-url': {
      type: 'string',
      default: process.env.HOOKLINE_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    },
    messages: { type: 'string', default: '20000' },
    webhooks: { type: 'string', default: '1' },
    topologies: { type: 'string', default: '1x2,1x3' },
    mode: { type: 'string', default: 'both' },
    // PostgreSQL session settings for the workers' connections only, e.g. "-c synchronous_commit=off"
    'worker-options': { type: 'string', default: '' },
  },
});
const DATABASE_URL = args['database-url'];
const MESSAGES = Number(args.messages);
const WEBHOOKS = Number(args.webhooks);
const MODES = args.mode === 'both' ? ['backlog', 'live'] : [args.mode];
/** The database URL with `options` (session settings) added to its query string. */
function withOptions(url, options) {
  if (!options) return url;
  const u = new URL(url);
  u.searchParams.set('options', [u.searchParams.get('options'), options].filter(Boolean).join(' '));
  return u.toString();
}
const WORKER_URL = withOptions(DATABASE_URL, args['worker-options']);
const TOPOLOGIES = args.topologies.split(',').map((t) => {
  const [apis, workers] = t.split('x').map(Number);
  return { apis, workers };
});

/** Receiver: 200 at once; the first arrival time of each webhook-id, and the count of all. */
class Receiver {
  first = new Map();
  total = 0;
  firstAt = 0;
  lastAt = 0;
  #waiters = [];
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['webhook-id']);
      const now = performance.now();
      this.total++;
      if (!this.first.has(id)) {
        this.first.set(id, now);
        if (this.first.size === 1) this.firstAt = now;
        this.lastAt = now;
        if (this.first.size >= this.#waiters[0]?.n) for (const w of this.#waiters.splice(0)) w.resolve();
      }
      res.end('ok');
    });
  });

  async start() {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }

  /** Resolves when `n` distinct ids have arrived. */
  until(n, timeoutMs) {
    if (this.first.size >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${this.first.size} of ${n} arrived`)), timeoutMs);
      this.#waiters.push({
        n,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  close() {
    this.server.closeAllConnections();
    this.server.close();
  }
}

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** CPU seconds of every live process named postgres (backends come and go: compare with care). */
function postgresCpu() {
  let sum = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') sum += cpuSeconds(pid);
    } catch {}
  }
  return sum;
}

function startProcess(role, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'serve', '--role', role, '--port', '0'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const onData = (d) => {
      out += d;
      const m = out.match(/Hookline listening on (\S+)/);
      if (m) resolve({ role, child, url: m[1] });
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', (d) => {
      out += d;
      if (/error|fatal/i.test(d)) process.stderr.write(`[${role} ${child.pid}] ${d}`);
    });
    child.once('exit', (code) => reject(new Error(`${role} exited with ${code}: ${out}`)));
  });
}

async function api(node, method, path, body) {
  const res = await fetch(node.url + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** Publishes every message in batches of 1000, two requests in flight per api process. */
async function publishAll(apis, ids) {
  const batches = [];
  for (let i = 0; i < ids.length; i += BATCH) batches.push(ids.slice(i, i + BATCH));
  const lane = async (node) => {
    for (let b = batches.shift(); b; b = batches.shift()) {
      const messages = b.map((id) => ({ id, type: EVENT_TYPE, data: { id, pad: 'x'.repeat(200) } }));
      await api(node, 'POST', '/v1/messages/batch', { messages });
    }
  };
  await Promise.all(apis.flatMap((node) => [lane(node), lane(node)]));
}

async function run({ apis: nApis, workers: nWorkers }, mode) {
  const schema = `hl_bench_${randomBytes(5).toString('hex')}`;
  const env = {
    HOOKLINE_DATABASE_URL: DATABASE_URL,
    HOOKLINE_DATABASE_SCHEMA: schema,
    HOOKLINE_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    HOOKLINE_ADMIN_KEY: ADMIN_KEY,
    HOOKLINE_DEV: '1',
    HOOKLINE_LOG_LEVEL: 'warn',
    HOOKLINE_API_RATE_LIMIT: 'off',
  };
  const rx = await new Receiver().start();
  const nodes = [];
  try {
    const first = await startProcess('api', env); // creates the schema
    nodes.push(first);
    const apis = [
      first,
      ...(await Promise.all(Array.from({ length: nApis - 1 }, () => startProcess('api', env)))),
    ];
    nodes.push(...apis.slice(1));
    await api(first, 'POST', '/v1/event-types', { name: EVENT_TYPE });
    for (let i = 0; i < WEBHOOKS; i++) {
      await api(first, 'POST', '/v1/webhooks', { url: `${rx.url}/hook/${i}`, events: [EVENT_TYPE] });
    }
    const startWorkers = async () => {
      const wenv = { ...env, HOOKLINE_DATABASE_URL: WORKER_URL };
      const ws = await Promise.all(Array.from({ length: nWorkers }, () => startProcess('worker', wenv)));
      nodes.push(...ws);
    };
    const ids = Array.from({ length: MESSAGES }, (_, i) => `bench_${i}`);
    const total = MESSAGES * WEBHOOKS;
    const pgCpu0 = postgresCpu();
    const result = {
      topology: `${nApis} api + ${nWorkers} workers`,
      mode,
      messages: MESSAGES,
      webhooks: WEBHOOKS,
    };
    if (args['worker-options']) result.workerOptions = args['worker-options'];
    if (mode === 'live') await startWorkers();
    const t0 = performance.now();
    await publishAll(apis, ids);
    const published = performance.now();
    result.publishPerSec = Math.round(MESSAGES / ((published - t0) / 1000));
    if (mode === 'backlog') await startWorkers();
    // Each webhook gets every message: the receiver sees one id per message and webhook pair only
    // when WEBHOOKS = 1; count requests instead then.
    if (WEBHOOKS === 1) await rx.until(MESSAGES, 600_000);
    else while (rx.total < total) await new Promise((r) => setTimeout(r, 20));
    const end = WEBHOOKS === 1 ? rx.lastAt : performance.now();
    const span = mode === 'backlog' ? end - rx.firstAt : end - t0;
    result.seconds = +(span / 1000).toFixed(2);
    result.deliveriesPerSec = Math.round(total / (span / 1000));
    result.duplicates = rx.total - total;
    result.cpuSeconds = { postgres: +(postgresCpu() - pgCpu0).toFixed(1) };
    for (const n of nodes) {
      result.cpuSeconds[n.role] = +((result.cpuSeconds[n.role] ?? 0) + cpuSeconds(n.child.pid)).toFixed(1);
    }
    return result;
  } finally {
    for (const n of nodes) {
      n.child.removeAllListeners('exit');
      n.child.kill('SIGKILL');
    }
    rx.close();
    const store = new PostgresStore({ connectionString: DATABASE_URL, poolSize: 1 });
    await store.pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await store.close();
  }
}

console.log(
  `postgres-scale: ${MESSAGES} messages x ${WEBHOOKS} webhook(s), ${cpus().length} CPUs, node ${process.version}`,
);
for (const topology of TOPOLOGIES) {
  for (const mode of MODES) {
    const r = await run(topology, mode);
    console.log(JSON.stringify(r));
  }
}

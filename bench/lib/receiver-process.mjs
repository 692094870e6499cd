// The webhook receiver, run as its own process (forked by receiver.mjs, driven over IPC).
// node:http on 127.0.0.1. Any path answers 200 as soon as the body has arrived, except paths that
// start with /hang, which never answer (the sender gives up at its timeout). Per path it counts
// requests, distinct `webhook-id`s (so repeats show as duplicates) and the publish→receipt latency
// from `data.sent_at` in the JSON body (ms on the machine's monotonic clock: payload.mjs's nowMs).
import { createServer } from 'node:http';
import { nowMs as now } from './payload.mjs';

const SENT_AT = /"sent_at":(\d+(?:\.\d+)?)/;

class PathStats {
  count = 0;
  ids = new Set();
  lat = new Float64Array(4096);
  n = 0;
  first = Number.POSITIVE_INFINITY;
  last = 0;

  record(id, latency, at) {
    this.count++;
    if (id !== undefined) this.ids.add(id);
    if (at < this.first) this.first = at;
    if (at > this.last) this.last = at;
    if (latency === null) return;
    if (this.n === this.lat.length) {
      const bigger = new Float64Array(this.lat.length * 2);
      bigger.set(this.lat);
      this.lat = bigger;
    }
    this.lat[this.n++] = latency;
  }
}

const paths = new Map();

function statsFor(path) {
  let s = paths.get(path);
  if (!s) {
    s = new PathStats();
    paths.set(path, s);
  }
  return s;
}

const server = createServer((req, res) => {
  const path = req.url;
  const id = req.headers['webhook-id'];
  if (path.startsWith('/hang')) {
    statsFor(path).record(id, null, now());
    req.resume();
    return; // never answered: the client times out and closes the connection
  }
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => {
    body += chunk;
  });
  req.on('end', () => {
    const at = now();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
    const m = SENT_AT.exec(body);
    statsFor(path).record(id, m ? at - Number(m[1]) : null, at);
  });
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 0;
server.requestTimeout = 0;

function selected(prefix) {
  return [...paths].filter(([p]) => p.startsWith(prefix));
}

function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

function summarize(prefix) {
  const list = selected(prefix);
  let count = 0;
  let unique = 0;
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  let n = 0;
  for (const [, s] of list) {
    count += s.count;
    unique += s.ids.size;
    first = Math.min(first, s.first);
    last = Math.max(last, s.last);
    n += s.n;
  }
  const all = new Float64Array(n);
  let offset = 0;
  for (const [, s] of list) {
    all.set(s.lat.subarray(0, s.n), offset);
    offset += s.n;
  }
  all.sort();
  let sum = 0;
  for (const v of all) sum += v;
  return {
    count,
    unique,
    duplicates: count - unique,
    firstAt: count ? first : null,
    lastAt: count ? last : null,
    latencyMs: {
      n,
      p50: percentile(all, 0.5),
      p90: percentile(all, 0.9),
      p99: percentile(all, 0.99),
      max: n ? all[n - 1] : null,
      mean: n ? sum / n : null,
    },
    paths: Object.fromEntries(list.map(([p, s]) => [p, s.count])),
  };
}

function handle(msg) {
  switch (msg.cmd) {
    case 'count': {
      let count = 0;
      let unique = 0;
      for (const [, s] of selected(msg.prefix)) {
        count += s.count;
        unique += s.ids.size;
      }
      return { count, unique };
    }
    case 'stats':
      return summarize(msg.prefix);
    case 'forget':
      for (const [p] of selected(msg.prefix)) paths.delete(p);
      return {};
    default:
      throw new Error(`unknown command ${msg.cmd}`);
  }
}

process.on('message', (msg) => {
  try {
    process.send({ id: msg.id, result: handle(msg) });
  } catch (err) {
    process.send({ id: msg.id, error: err.message });
  }
});
// The harness went away (even by SIGKILL): do not outlive it.
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => process.send({ ready: true, port: server.address().port }));

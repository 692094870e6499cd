// Runs Hookline as a user would (`node dist/cli/main.js serve …` in its own process) and talks to
// it over its public HTTP API only.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { EVENT_TYPE, makeData, nowMs } from './payload.mjs';
import { isShuttingDown, memoryMb, spawnTracked, stopProcess } from './processes.mjs';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
export const ADMIN_KEY = `hk_admin_bench_${randomBytes(16).toString('hex')}`;

/** `--cpu-prof DIR`: every Hookline process writes a V8 CPU profile there (stopped with SIGTERM). */
let profileDir = null;
export function profileInto(dir) {
  profileDir = dir;
}

/** The environment every Hookline process gets; the per-key API rate limit is turned off. */
export function hooklineEnv(extra = {}) {
  return {
    ...process.env,
    HOOKLINE_ADMIN_KEY: ADMIN_KEY,
    HOOKLINE_LOG_LEVEL: 'warn',
    HOOKLINE_API_RATE_LIMIT: 'off',
    ...extra,
  };
}

export class Hookline {
  /** Set when the process exited without being asked to: { code, signal, tail }. */
  crashed = null;
  /** Lines it logged (warn level and above) and the first few of them. */
  logLines = 0;
  firstLogLines = [];
  #tail = '';
  #stopping = false;

  constructor(child, url, name) {
    this.child = child;
    this.pid = child.pid;
    this.url = url;
    this.name = name;
    this.pool = new Pool(url, { connections: 16, keepAliveTimeout: 30_000 });
  }

  /**
   * `hookline serve --port 0 --dev <args>`; resolves once it prints "Hookline listening on <url>".
   * `args`: ['--db', file] or ['--database-url', url, '--role', role].
   */
  static async start({ name, args, env = {} }) {
    const node = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const child = spawnTracked(
      process.execPath,
      [...node, CLI, 'serve', '--port', '0', '--dev', ...args],
      name,
      {
        env: hooklineEnv(env),
      },
    );
    let out = '';
    const url = await new Promise((resolve, reject) => {
      const onExit = (code, signal) =>
        reject(new Error(`${name} exited (${code ?? signal}) before listening:\n${out.slice(-2000)}`));
      child.once('exit', onExit);
      const onData = (chunk) => {
        out += chunk;
        const m = out.match(/Hookline listening on (\S+)/);
        if (m) {
          child.off('exit', onExit);
          child.stdout.off('data', onData);
          resolve(m[1]);
        }
      };
      child.stdout.setEncoding('utf8').on('data', onData);
      child.stderr.setEncoding('utf8').on('data', (d) => {
        out += d;
      });
    });
    const hl = new Hookline(child, url, name);
    const onLog = (chunk) => hl.#log(chunk);
    child.stdout.on('data', onLog);
    child.stderr.on('data', onLog);
    child.once('exit', (code, signal) => {
      if (!hl.#stopping && !isShuttingDown()) {
        hl.crashed = { code, signal, tail: hl.#tail.slice(-2000) };
        process.stderr.write(`\nbench: ${name} (pid ${hl.pid}) exited unexpectedly (${code ?? signal})\n`);
      }
    });
    return hl;
  }

  #log(chunk) {
    this.#tail = (this.#tail + chunk).slice(-8000);
    for (const line of chunk.split('\n')) {
      if (!line.trim()) continue;
      this.logLines++;
      if (this.firstLogLines.length < 5) this.firstLogLines.push(line.slice(0, 400));
    }
  }

  /** One API call with the admin key; throws on a non-2xx answer. */
  async api(method, path, body) {
    const res = await this.pool.request({
      method,
      path,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      headersTimeout: 120_000,
      bodyTimeout: 120_000,
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) {
      throw new Error(`${this.name}: ${method} ${path} → ${res.statusCode} ${text.slice(0, 300)}`);
    }
    return text ? JSON.parse(text) : null;
  }

  memory() {
    return memoryMb(this.pid);
  }

  async stop() {
    this.#stopping = true;
    await this.pool.destroy().catch(() => {});
    // A profiled process must exit on its own to write its profile.
    await stopProcess(this.child, profileDir ? 'SIGTERM' : 'SIGKILL');
  }
}

export async function createEventType(hl) {
  await hl.api('POST', '/v1/event-types', { name: EVENT_TYPE });
}

/** Webhooks to `${base}${paths[i]}`, subscribed to the bench event type; returns their ids. */
export async function createWebhooks(hl, base, paths, options = {}) {
  const ids = [];
  for (const path of paths) {
    const wh = await hl.api('POST', '/v1/webhooks', {
      url: `${base}${path}`,
      events: [EVENT_TYPE],
      ...options,
    });
    ids.push(wh.id);
  }
  return ids;
}

export async function setStatus(hl, ids, status) {
  for (const id of ids) await hl.api('PATCH', `/v1/webhooks/${id}`, { status });
}

/**
 * Publishes `count` messages with POST /v1/messages/batch, `batchSize` per request and `lanes`
 * requests in flight (spread over `nodes`, several api processes in PostgreSQL mode). Each message is
 * stamped when its batch is sent. Calls `progress(published)` after each batch.
 */
export async function publishBatches(nodes, count, { batchSize = 1000, lanes = 2, progress } = {}) {
  const list = Array.isArray(nodes) ? nodes : [nodes];
  let next = 0;
  let published = 0;
  let deliveries = 0;
  const lane = async (hl) => {
    while (next < count) {
      const from = next;
      next = Math.min(count, next + batchSize);
      const sentAt = nowMs();
      const messages = [];
      for (let seq = from; seq < next; seq++)
        messages.push({ type: EVENT_TYPE, data: makeData(seq, sentAt) });
      const res = await hl.api('POST', '/v1/messages/batch', { messages });
      for (const m of res.data) deliveries += m.delivery_count;
      published += messages.length;
      progress?.(published);
    }
  };
  await Promise.all(Array.from({ length: lanes }, (_, i) => lane(list[i % list.length])));
  return { published, deliveries };
}

/** How many deliveries are in `status` (counted through the list API, 250 a page, at most `cap`). */
export async function countDeliveries(hl, status, cap = 1000) {
  let n = 0;
  let cursor = null;
  do {
    const q = `/v1/deliveries?status=${status}&limit=250${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page = await hl.api('GET', q);
    n += page.data.length;
    cursor = page.next_cursor;
  } while (cursor && n < cap);
  return n;
}

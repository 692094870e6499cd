/**
 * Several real `hookline serve` processes sharing one fresh PostgreSQL schema: the scale-out
 * topology (API.md "Running", DESIGN.md "Scale-out store"), for tests that kill processes.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ApiClient } from '../support/api-client.js';
import { CLI, cleanEnv, freePort } from '../support/serve-process.js';
import { dropSchema, randomSchema, TEST_ADMIN_KEY, TEST_DATABASE_URL } from '../support/test-server.js';

export { TEST_DATABASE_URL };

/** A worker that polls only every 60 s: whatever reaches it sooner came by LISTEN/NOTIFY. */
const SLOW_POLL_WORKER = fileURLToPath(new URL('./slow-poll-worker.mjs', import.meta.url));

export type Role = 'api' | 'worker' | 'all';

export interface Node {
  role: Role;
  child: ChildProcessByStdio<null, Readable, Readable>;
  url: string;
  /** The admin key's client on this process. */
  admin: ApiClient;
  /** stdout and stderr so far. */
  output: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export class Cluster {
  readonly schema = randomSchema('hl_scale');
  readonly nodes: Node[] = [];
  readonly #env: Record<string, string>;
  readonly #cwd: string;
  #pg: pg.Client | null = null;

  constructor(
    readonly databaseUrl: string,
    opts: { cwd: string; env?: Record<string, string> },
  ) {
    this.#cwd = opts.cwd;
    this.#env = {
      HOOKLINE_DATABASE_URL: databaseUrl,
      HOOKLINE_DATABASE_SCHEMA: this.schema,
      HOOKLINE_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      HOOKLINE_ADMIN_KEY: TEST_ADMIN_KEY,
      HOOKLINE_DEV: '1',
      HOOKLINE_LOG_LEVEL: 'warn',
      HOOKLINE_API_RATE_LIMIT: 'off',
      ...opts.env,
    };
  }

  /** `hookline serve --role <role>` on a free port; resolves once it listens. */
  async start(role: Role): Promise<Node> {
    const port = await freePort();
    return this.#spawn(role, [CLI, 'serve', '--role', role, '--port', String(port)], {});
  }

  /** A worker process whose safety-net poll is 60 s (see slow-poll-worker.mjs). */
  async startSlowPollWorker(): Promise<Node> {
    const port = await freePort();
    return this.#spawn('worker', [SLOW_POLL_WORKER], {
      HOOKLINE_PORT: String(port),
      HOOKLINE_ROLE: 'worker',
    });
  }

  async #spawn(role: Role, args: string[], env: Record<string, string>): Promise<Node> {
    const child = spawn(process.execPath, args, {
      cwd: this.#cwd,
      env: cleanEnv({ ...this.#env, ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const node: Node = {
      role,
      child,
      url: '',
      admin: new ApiClient('', null),
      output: '',
      exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
    };
    this.nodes.push(node);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      node.output += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      node.output += d;
    });
    let gone = false;
    void node.exited.then(() => {
      gone = true;
    });
    await waitUntil(
      () => {
        if (gone) throw new Error(`${role} process exited before listening:\n${node.output}`);
        return /Hookline listening on \S+/.test(node.output);
      },
      20_000,
      () => `${role} process to listen:\n${node.output}`,
    );
    node.url = node.output.match(/Hookline listening on (\S+)/)?.[1] ?? '';
    node.admin = new ApiClient(node.url, TEST_ADMIN_KEY);
    return node;
  }

  /** SIGKILL: the process gets no chance to finish or record anything. */
  async kill(node: Node): Promise<void> {
    if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
    await node.exited;
  }

  /** A query on the cluster's schema, on one connection of the test's own. */
  async query<T extends pg.QueryResultRow = any>(text: string, values: unknown[] = []): Promise<T[]> {
    if (!this.#pg) {
      const client = new pg.Client({
        connectionString: this.databaseUrl,
        options: `-c search_path=${this.schema}`,
      });
      await client.connect();
      this.#pg = client;
    }
    return (await this.#pg.query<T>(text, values)).rows;
  }

  /** SIGKILLs what still runs, closes the test's connection, drops the schema unless `keep`. */
  async dispose(keep = false): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n)));
    await this.#pg?.end().catch(() => {});
    this.#pg = null;
    if (keep) console.warn(`multi-process: kept schema ${this.schema} for inspection`);
    else await dropSchema(this.databaseUrl, this.schema);
  }
}

/** Polls `check` every `intervalMs` until it holds; throws `what` after `timeoutMs`. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: () => string,
  intervalMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface AttemptSpan {
  deliveryId: string;
  startedAt: number;
  durationMs: number;
}

/** Pairs of attempts of one delivery whose [started_at, started_at + duration_ms] overlap. */
export function overlappingAttempts(spans: AttemptSpan[]): [AttemptSpan, AttemptSpan][] {
  const byDelivery = new Map<string, AttemptSpan[]>();
  for (const s of spans) byDelivery.set(s.deliveryId, [...(byDelivery.get(s.deliveryId) ?? []), s]);
  const out: [AttemptSpan, AttemptSpan][] = [];
  for (const list of byDelivery.values()) {
    list.sort((a, b) => a.startedAt - b.startedAt);
    // Sorted by start, an attempt overlaps an earlier one iff it starts before the latest end so far.
    let latest: AttemptSpan | null = null;
    for (const cur of list) {
      if (latest && cur.startedAt < latest.startedAt + latest.durationMs) out.push([latest, cur]);
      if (!latest || cur.startedAt + cur.durationMs > latest.startedAt + latest.durationMs) latest = cur;
    }
  }
  return out;
}

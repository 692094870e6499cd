/**
 * Receivers that attack the sender: an endless body, a megabyte of headers, a byte every 200 ms,
 * and silence. Each attempt must end within its timeout (plus scheduling slack) with a sensible
 * outcome, keep at most 4096 bytes of body, and leave the server answering and its memory bounded.
 */
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttemptRecord } from '../../src/store/store.js';
import {
  attemptsRecorded,
  createWebhook,
  dispatcherOf,
  newEventType,
  publish,
  startDeliveryServer,
} from '../delivery/helpers.js';
import { ChildServer, waitUntil } from '../robustness/child-server.js';
import { tempDir } from '../support/temp-dir.js';
import type { TestServer } from '../support/test-server.js';

const TIMEOUT_MS = 1000;
const SLACK_MS = 1000;

type Behaviour = (socket: Socket, onClose: (fn: () => void) => void) => void;

/** A raw TCP receiver on 127.0.0.1 that runs `behaviour` once the first request bytes arrive. */
class HostileReceiver {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  url = '';

  constructor(behaviour: Behaviour) {
    this.#server = createServer((socket) => {
      this.#sockets.add(socket);
      const cleanups: (() => void)[] = [];
      socket.on('error', () => {});
      socket.once('close', () => {
        this.#sockets.delete(socket);
        for (const fn of cleanups) fn();
      });
      socket.once('data', () => behaviour(socket, (fn) => cleanups.push(fn)));
    });
  }

  async start(): Promise<this> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`;
    return this;
  }

  close(): void {
    for (const s of this.#sockets) s.destroy();
    this.#server.close();
  }
}

/** (a) 200, chunked, then 16 KiB chunks for as long as the peer reads. */
const endlessBody: Behaviour = (socket) => {
  socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n');
  const chunk = `4000\r\n${'x'.repeat(0x4000)}\r\n`;
  const pump = () => {
    while (!socket.destroyed && socket.write(chunk)) {
      // keep writing until the socket buffers
    }
  };
  socket.on('drain', pump);
  pump();
};

/** (b) A status line and then 1 MB of headers, never a blank line. */
const hugeHeaders: Behaviour = (socket) => {
  const line = `X-Pad: ${'h'.repeat(1000)}\r\n`;
  socket.write(`HTTP/1.1 200 OK\r\n${line.repeat(1024)}`);
};

/** (c) The response one byte every 200 ms. */
const slowloris: Behaviour = (socket, onClose) => {
  const response = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
  let i = 0;
  const timer = setInterval(() => {
    if (i >= response.length || socket.destroyed) return clearInterval(timer);
    socket.write(response[i++] as string);
  }, 200);
  onClose(() => clearInterval(timer));
};

/** (d) Accept, read, never answer. */
const silent: Behaviour = (socket) => {
  socket.resume();
};

const CASES = [
  { name: 'endless body', behaviour: endlessBody },
  { name: 'huge headers', behaviour: hugeHeaders },
  { name: 'slowloris', behaviour: slowloris },
  { name: 'never answers', behaviour: silent },
] as const;

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

describe('hostile receivers', () => {
  let t: TestServer;
  const receivers = new Map<string, HostileReceiver>();
  const hooks = new Map<string, string>(); // webhook id -> case name
  let type: string;

  beforeAll(async () => {
    t = await startDeliveryServer();
    type = await newEventType(t);
    for (const c of CASES) {
      const r = await new HostileReceiver(c.behaviour).start();
      receivers.set(c.name, r);
      const w = await createWebhook(t, { url: r.url, events: [type], timeout_ms: TIMEOUT_MS });
      hooks.set(w.id, c.name);
    }
  });
  afterAll(async () => {
    for (const r of receivers.values()) r.close();
    await t?.stop();
  });

  function byCase(records: AttemptRecord[]): Map<string, AttemptRecord[]> {
    const out = new Map<string, AttemptRecord[]>();
    for (const r of records) {
      const name = hooks.get(r.webhookId ?? '') ?? 'unknown';
      out.set(name, [...(out.get(name) ?? []), r]);
    }
    return out;
  }

  function checkOutcome(name: string, r: AttemptRecord): void {
    const a = r.attempt;
    const what = `${name}: ${JSON.stringify({ ...a, responseBody: a.responseBody?.length })}`;
    expect(a.durationMs, what).toBeLessThanOrEqual(TIMEOUT_MS + SLACK_MS);
    expect(a.responseBody?.length ?? 0, what).toBeLessThanOrEqual(4096);
    if (name === 'endless body') {
      // The status is the answer: 64 KiB are read, the rest is dropped, 4096 bytes are kept.
      expect(a.statusCode, what).toBe(200);
      expect(a.error, what).toBeNull();
      expect(r.success, what).toBe(true);
      expect(a.responseBody, what).toBe('x'.repeat(4096));
    } else if (name === 'huge headers') {
      expect(a.error, what).toBe('response_too_large');
      expect(r.success, what).toBe(false);
    } else {
      expect(a.error, what).toBe('timeout');
      expect(r.success, what).toBe(false);
      expect(a.durationMs, what).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    }
  }

  it('ends each attempt in time with the right outcome, and /healthz keeps answering', async () => {
    const recorded = attemptsRecorded(dispatcherOf(t), CASES.length);
    await publish(t, { type, data: { n: 0 } });
    // While the four attempts are in flight the API still answers at once.
    const h0 = performance.now();
    const health = await fetch(`${t.server.url}/healthz`);
    const healthMs = performance.now() - h0;
    expect(health.status).toBe(200);
    expect(healthMs).toBeLessThan(500);
    const records = await recorded;
    const grouped = byCase(records);
    for (const c of CASES) {
      const mine = grouped.get(c.name) ?? [];
      expect(mine, c.name).toHaveLength(1);
      checkOutcome(c.name, mine[0] as AttemptRecord);
      console.log(
        `[hostile] ${c.name}: ${mine[0]?.attempt.durationMs} ms, error=${mine[0]?.attempt.error}, ` +
          `status=${mine[0]?.attempt.statusCode}, body=${mine[0]?.attempt.responseBody?.length ?? 0} B`,
      );
    }
  });

  it('keeps memory bounded over ~50 attempts against them', async () => {
    const rounds = 13; // × 4 webhooks = 52 attempts
    global.gc?.();
    const before = process.memoryUsage().rss;
    const recorded = attemptsRecorded(dispatcherOf(t), rounds * CASES.length, 30_000);
    const messages = Array.from({ length: rounds }, (_, i) => ({ type, data: { i } }));
    expect((await t.admin.post('/v1/messages/batch', { messages })).status).toBe(202);
    const healthy = await fetch(`${t.server.url}/healthz`);
    expect(healthy.status).toBe(200);
    const records = await recorded;
    global.gc?.();
    const after = process.memoryUsage().rss;
    const grouped = byCase(records);
    for (const c of CASES) {
      const mine = grouped.get(c.name) ?? [];
      expect(mine.length, c.name).toBe(rounds);
      for (const r of mine) checkOutcome(c.name, r);
      const ds = mine.map((r) => r.attempt.durationMs);
      console.log(`[hostile] ${c.name}: ${mine.length} attempts, ${Math.min(...ds)}–${Math.max(...ds)} ms`);
    }
    console.log(
      `[hostile] RSS before ${mb(before)} MB, after ${records.length} attempts ${mb(after)} MB ` +
        `(+${mb(after - before)} MB)`,
    );
    expect(after - before).toBeLessThan(100 * 1024 * 1024);
    expect((await fetch(`${t.server.url}/healthz`)).status).toBe(200);
  }, 40_000);

  it.skipIf(!existsSync('/proc/self/status'))(
    'the server process alone (child, built) stays bounded over ~50 attempts',
    async () => {
      const tmp = tempDir();
      const child = await ChildServer.start(`${tmp.path}/hookline.db`);
      const rssOf = (pid: number) => {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        return Number(m?.[1]) * 1024;
      };
      try {
        const type = 'hostile.child';
        expect((await child.admin.post('/v1/event-types', { name: type })).status).toBe(201);
        for (const r of receivers.values()) {
          const w = await child.admin.post('/v1/webhooks', {
            url: r.url,
            events: [type],
            timeout_ms: TIMEOUT_MS,
          });
          expect(w.status, JSON.stringify(w.body)).toBe(201);
        }
        const pid = child.proc.pid as number;
        const before = rssOf(pid);
        const messages = Array.from({ length: 13 }, (_, i) => ({ type, data: { i } }));
        expect((await child.admin.post('/v1/messages/batch', { messages })).status).toBe(202);
        const t0 = performance.now();
        let attempts = 0;
        await waitUntil(
          async () => {
            const res = await child.admin.get('/v1/deliveries?limit=250');
            attempts = res.body.data.reduce(
              (n: number, d: { attempt_count: number }) => n + d.attempt_count,
              0,
            );
            return attempts >= 52;
          },
          20_000,
          () => `52 attempts in the child (have ${attempts})`,
          100,
        );
        const after = rssOf(pid);
        console.log(
          `[hostile] child server RSS before ${mb(before)} MB, after ${attempts} attempts ${mb(after)} MB ` +
            `(+${mb(after - before)} MB) in ${Math.round(performance.now() - t0)} ms`,
        );
        expect(after - before).toBeLessThan(100 * 1024 * 1024);
        expect((await fetch(`${child.admin.baseUrl}/healthz`)).status).toBe(200);
      } finally {
        await child.stop();
        tmp.cleanup();
      }
    },
    40_000,
  );
});

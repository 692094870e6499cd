import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../support/test-server.js';
import { createWebhook, deleteAllWebhooks, newEventType, POLL, startDeliveryServer } from './helpers.js';

/** A receiver that answers after `delayMs` and records when each request started and the peak concurrency. */
class CountingServer {
  readonly starts: number[] = [];
  active = 0;
  peak = 0;
  url = '';
  readonly #server: Server;

  constructor(delayMs: number) {
    this.#server = createServer((req, res) => {
      this.starts.push(performance.now());
      this.active++;
      this.peak = Math.max(this.peak, this.active);
      req.resume();
      setTimeout(() => {
        this.active--;
        res.end('ok');
      }, delayMs);
    });
  }

  async start(): Promise<this> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  close(): void {
    this.#server.closeAllConnections();
    this.#server.close();
  }
}

/**
 * A slow disk: every record of `t`'s store takes `ms` more (the store is real, its writes just wait
 * first). Returns what puts it back.
 */
function slowRecords(t: TestServer, ms: number): () => void {
  const store = t.server.store;
  const record = store.recordAttempts.bind(store);
  store.recordAttempts = async (records, now) => {
    await new Promise((r) => setTimeout(r, ms));
    return record(records, now);
  };
  return () => {
    store.recordAttempts = record;
  };
}

async function succeededOf(t: TestServer, webhookId: string): Promise<number> {
  const res = await t.admin.get(`/v1/deliveries?webhook_id=${webhookId}&status=SUCCEEDED&limit=100`);
  return res.body.data.length;
}

describe('per-webhook limits', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startDeliveryServer();
  });
  afterEach(async () => deleteAllWebhooks(t));
  afterAll(async () => t.stop());

  async function publishMany(type: string, n: number): Promise<void> {
    const messages = Array.from({ length: n }, (_, i) => ({ type, data: { i } }));
    expect((await t.admin.post('/v1/messages/batch', { messages })).status).toBe(202);
  }

  it('runs at most 10 attempts to one webhook at once, and uses all 10', async () => {
    const slow = await new CountingServer(250).start();
    try {
      const type = await newEventType(t);
      await createWebhook(t, { url: `${slow.url}/hook`, events: [type] });
      await publishMany(type, 20);
      await expect.poll(() => slow.starts.length, POLL).toBe(20);
      expect(slow.peak).toBe(10);
    } finally {
      slow.close();
    }
  });

  it('refills a slot when its answer arrives, not when its attempt is recorded', async () => {
    const fast = await new CountingServer(0).start();
    const restore = slowRecords(t, 400);
    try {
      const type = await newEventType(t);
      const hook = await createWebhook(t, { url: `${fast.url}/hook`, events: [type] });
      await publishMany(type, 30);
      await expect.poll(() => fast.starts.length, POLL).toBe(30);
      // Slots held until the record would let 10 go per 400 ms: the 30th at 800 ms or later.
      const spread = (fast.starts[29] ?? 0) - (fast.starts[0] ?? 0);
      expect(spread, 'ms from the first start to the 30th').toBeLessThan(400);
      expect(fast.peak).toBeLessThanOrEqual(10);
      await expect.poll(() => succeededOf(t, hook.id), POLL).toBe(30);
    } finally {
      restore();
      fast.close();
    }
  });

  it('starts at most rate_limit_per_sec attempts per second, one second of burst included', async () => {
    const fast = await new CountingServer(0).start();
    try {
      const type = await newEventType(t);
      await createWebhook(t, { url: `${fast.url}/hook`, events: [type], rate_limit_per_sec: 5 });
      await publishMany(type, 10);
      await expect.poll(() => fast.starts.length, POLL).toBe(10);
      const first = fast.starts[0] ?? 0;
      const offsets = fast.starts.map((s) => s - first);
      // A full bucket (5) may go at once; each later start waits for its own token (200 ms apart).
      // Offsets are from the first request's arrival, which includes connection set-up: hence slack.
      const SLACK_MS = 100;
      for (let i = 5; i < offsets.length; i++) {
        expect(
          offsets[i],
          `start ${i + 1} at ${offsets.map(Math.round).join(',')} ms`,
        ).toBeGreaterThanOrEqual((i - 4) * 200 - SLACK_MS);
      }
      // And it keeps going at that pace rather than stalling.
      expect(offsets[9]).toBeLessThan(2500);
    } finally {
      fast.close();
    }
  });
});

describe('the dispatcher-wide limit', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startDeliveryServer({ dispatcher: { maxInFlight: 4, maxUnrecorded: 4 } });
  });
  afterAll(async () => t.stop());

  it('counts attempts answered but not yet recorded: a slow store slows the sending', async () => {
    const fast = await new CountingServer(0).start();
    const restore = slowRecords(t, 400);
    try {
      const type = await newEventType(t);
      const hook = await createWebhook(t, { url: `${fast.url}/hook`, events: [type] });
      const messages = Array.from({ length: 12 }, (_, i) => ({ type, data: { i } }));
      expect((await t.admin.post('/v1/messages/batch', { messages })).status).toBe(202);
      await expect.poll(() => fast.starts.length, POLL).toBe(12);
      const first = fast.starts[0] ?? 0;
      const offsets = fast.starts.map((s) => Math.round(s - first));
      // Four at once, then the next four only once their records are written (~400 ms each).
      expect(offsets[3], `starts at ${offsets.join(',')} ms`).toBeLessThan(200);
      expect(offsets[4], `starts at ${offsets.join(',')} ms`).toBeGreaterThanOrEqual(300);
      expect(offsets[8], `starts at ${offsets.join(',')} ms`).toBeGreaterThanOrEqual(700);
      await expect.poll(() => succeededOf(t, hook.id), POLL).toBe(12);
    } finally {
      restore();
      fast.close();
    }
  });
});

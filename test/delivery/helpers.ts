/** Shared steps of the delivery suite: unique event types, webhooks, publishing, waiting on attempts. */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { expect } from 'vitest';
import type { Dispatcher } from '../../src/delivery/dispatcher.js';
import type { AttemptRecord } from '../../src/store/store.js';
import type { ManualClock } from '../support/manual-clock.js';
import type { Received, Receiver } from '../support/receiver.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

export const VERSION: string = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
).version;

/**
 * The test server with the per-key API rate limit off: these tests poll the API while deliveries
 * run, and the limit is not what they are about.
 */
export function startDeliveryServer(opts: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  return startTestServer({ ...opts, env: { HOOKLINE_API_RATE_LIMIT: 'off', ...opts.env } });
}

/** The server's dispatcher (a test server always runs one). */
export function dispatcherOf(t: TestServer): Dispatcher {
  const d = t.server.dispatcher;
  if (!d) throw new Error('the test server runs no dispatcher');
  return d;
}

/** `list[i]`, failing the test clearly when it is missing. */
export function nth<T>(list: readonly T[], i: number): T {
  const item = list[i];
  if (item === undefined) throw new Error(`expected an item at [${i}] of a list of ${list.length}`);
  return item;
}

let seq = 0;

/** A fresh catalog type, so one test's webhooks never see another test's messages. */
export async function newEventType(t: TestServer, extra: Record<string, unknown> = {}): Promise<string> {
  const name = `t${process.pid}.e${++seq}`;
  const res = await t.admin.post('/v1/event-types', { name, ...extra });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return name;
}

export async function createWebhook(t: TestServer, body: Record<string, unknown>): Promise<any> {
  const res = await t.admin.post('/v1/webhooks', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

export async function publish(
  t: TestServer,
  body: Record<string, unknown>,
  headers?: Record<string, string>,
): Promise<any> {
  const res = await t.admin.post('/v1/messages', body, headers);
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body;
}

/** Deletes every webhook of the default tenant (cancelling their deliveries): isolation between tests. */
export async function deleteAllWebhooks(t: TestServer): Promise<void> {
  const list = await t.admin.get('/v1/webhooks?limit=250');
  for (const w of list.body.data) expect((await t.admin.delete(`/v1/webhooks/${w.id}`)).status).toBe(204);
}

export async function deliveriesOf(t: TestServer, messageId: string): Promise<any[]> {
  const res = await t.admin.get(`/v1/deliveries?message_id=${encodeURIComponent(messageId)}`);
  expect(res.status).toBe(200);
  return res.body.data;
}

/** The one delivery of a message (to a given webhook when it has several), with its attempts. */
export async function deliveryOf(t: TestServer, messageId: string, webhookId?: string): Promise<any> {
  const all = await deliveriesOf(t, messageId);
  const mine = webhookId === undefined ? all : all.filter((d) => d.webhook_id === webhookId);
  expect(mine, JSON.stringify(all)).toHaveLength(1);
  const res = await t.admin.get(`/v1/deliveries/${mine[0].id}`);
  expect(res.status).toBe(200);
  return res.body;
}

export async function getWebhook(t: TestServer, id: string): Promise<any> {
  const res = await t.admin.get(`/v1/webhooks/${id}`);
  expect(res.status).toBe(200);
  return res.body;
}

export async function waitForDeliveryStatus(
  t: TestServer,
  messageId: string,
  status: string,
  webhookId?: string,
): Promise<any> {
  await expect.poll(async () => (await deliveryOf(t, messageId, webhookId)).status, POLL).toBe(status);
  return deliveryOf(t, messageId, webhookId);
}

/**
 * Resolves once `n` attempts have been stored (the dispatcher's 'recorded' event). Call it before
 * the action that causes them.
 */
export function attemptsRecorded(d: Dispatcher, n: number, timeoutMs = 10_000): Promise<AttemptRecord[]> {
  return new Promise((resolve, reject) => {
    const got: AttemptRecord[] = [];
    const onRecorded = (records: AttemptRecord[]) => {
      got.push(...records);
      if (got.length >= n) {
        stop();
        resolve(got);
      }
    };
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`only ${got.length} of ${n} attempts recorded in ${timeoutMs} ms`));
    }, timeoutMs);
    const stop = () => {
      clearTimeout(timer);
      d.off('recorded', onRecorded);
    };
    d.on('recorded', onRecorded);
  });
}

/** Moves the manual clock, wakes the dispatcher and waits for `n` attempts to be stored. */
export async function advanceAndRun(
  t: TestServer,
  clock: ManualClock,
  ms: number,
  n: number,
): Promise<AttemptRecord[]> {
  const d = dispatcherOf(t);
  const recorded = attemptsRecorded(d, n);
  clock.advance(ms);
  d.wake();
  return recorded;
}

/**
 * Wakes the dispatcher and checks that it started nothing. A wake claims within microtasks, so
 * after one macrotask anything due would be in flight (or already recorded, which the caller's
 * API checks would see).
 */
export async function expectNothingStarts(t: TestServer): Promise<void> {
  const d = dispatcherOf(t);
  d.wake();
  await new Promise((r) => setImmediate(r));
  expect(d.inFlight).toBe(0);
}

/** What the receiver got for one message (by webhook-id). */
export function receivedFor(rx: Receiver, messageId: string): Received[] {
  return rx.received.filter((r) => r.headers['webhook-id'] === messageId);
}

/** A local port with nothing listening on it. */
export async function closedPort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  s.close();
  await once(s, 'close');
  return port;
}

/** expect.poll options for waits on deliveries: generous, since a loaded machine is slow, not wrong. */
export const POLL = { timeout: 10_000, interval: 25 };

export const isoOf = (ms: number) => new Date(ms).toISOString();

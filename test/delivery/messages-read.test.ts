import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../support/expect-error.js';
import { ManualClock } from '../support/manual-clock.js';
import { Receiver } from '../support/receiver.js';
import type { TestServer } from '../support/test-server.js';
import {
  createWebhook,
  isoOf,
  newEventType,
  nth,
  publish,
  startDeliveryServer,
  waitForDeliveryStatus,
} from './helpers.js';

const DELIVERY_FIELDS = [
  'id',
  'message_id',
  'webhook_id',
  'url',
  'status',
  'attempt_count',
  'next_attempt_at',
  'last_status_code',
  'last_error',
  'created_at',
  'updated_at',
].sort();

describe('reading messages', () => {
  let t: TestServer;
  let rx: Receiver;
  const clock = new ManualClock(Date.parse('2026-03-01T09:00:00.000Z'));
  let typeA: string;
  let typeB: string;
  /** Published oldest first, one second apart: [id, type, created_at ms]. */
  const published: { id: string; type: string; at: number }[] = [];

  beforeAll(async () => {
    rx = await new Receiver().start();
    t = await startDeliveryServer({ clock });
    typeA = await newEventType(t);
    typeB = await newEventType(t);
    for (let i = 0; i < 7; i++) {
      const type = i % 3 === 2 ? typeB : typeA;
      const pub = await publish(t, { id: `evt_read_${i}`, type, data: { i } });
      expect(pub.created_at).toBe(isoOf(clock.now()));
      published.push({ id: pub.id, type, at: clock.now() });
      clock.advance(1000);
    }
  });
  afterAll(async () => {
    await t.stop();
    await rx.close();
  });

  const ids = (res: any) => res.body.data.map((m: any) => m.id);
  const newestFirst = (list: typeof published) => list.map((m) => m.id).reverse();

  it('lists newest first, filtered by type', async () => {
    const all = await t.admin.get(`/v1/messages?since=${isoOf(nth(published, 0).at)}`);
    expect(all.status).toBe(200);
    expect(ids(all)).toEqual(newestFirst(published));
    expect(all.body.next_cursor).toBeNull();
    const onlyB = await t.admin.get(`/v1/messages?type=${typeB}`);
    expect(ids(onlyB)).toEqual(newestFirst(published.filter((m) => m.type === typeB)));
    expect((await t.admin.get('/v1/messages?type=no.such.type')).body.data).toEqual([]);
  });

  it('filters by since (inclusive) and until (exclusive)', async () => {
    const p = published;
    const since = await t.admin.get(`/v1/messages?since=${isoOf(nth(p, 4).at)}`);
    expect(ids(since)).toEqual(newestFirst(p.slice(4)));
    const until = await t.admin.get(`/v1/messages?until=${isoOf(nth(p, 2).at)}`);
    expect(ids(until)).toEqual(newestFirst(p.slice(0, 2)));
    const both = await t.admin.get(
      `/v1/messages?since=${isoOf(nth(p, 1).at)}&until=${isoOf(nth(p, 5).at)}&type=${typeA}`,
    );
    expect(ids(both)).toEqual(newestFirst(p.slice(1, 5).filter((m) => m.type === typeA)));
    expectError(await t.admin.get('/v1/messages?since=yesterday'), 422, 'validation_failed', 'since');
  });

  it('pages with limit and cursor, without gaps or repeats', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: any = await t.admin.get(
        `/v1/messages?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(3);
      seen.push(...ids(res));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor !== null && pages < 10);
    expect(seen).toEqual(newestFirst(published));
    expect(pages).toBe(3);
    for (const bad of ['0', '251']) {
      expectError(await t.admin.get(`/v1/messages?limit=${bad}`), 422, 'validation_failed', 'limit');
    }
    expectError(await t.admin.get('/v1/messages?cursor=garbage'), 422, 'validation_failed', 'cursor');
  });

  it('lists the envelope fields, with null for what was not sent', async () => {
    const res = await t.admin.get(`/v1/messages?type=${typeB}&limit=1`);
    expect(res.body.data[0]).toEqual({
      id: 'evt_read_5',
      type: typeB,
      created_at: isoOf(nth(published, 5).at),
      data: { i: 5 },
      previous_data: null,
      callback_url: null,
      delivery_count: 0,
    });
  });

  it('shows one message with its deliveries', async () => {
    const type = await newEventType(t);
    const ok = await createWebhook(t, { url: `${rx.url}/ok`, events: [type] });
    const held = await createWebhook(t, { url: `${rx.url}/ok`, events: [type] });
    expect((await t.admin.patch(`/v1/webhooks/${held.id}`, { status: 'DISABLED' })).status).toBe(200);
    const pub = await publish(t, {
      id: 'evt_read_one',
      type,
      data: { x: 1 },
      previous_data: { x: 0 },
      callback_url: `${rx.url}/ok`,
    });
    expect(pub.delivery_count).toBe(3);
    await waitForDeliveryStatus(t, 'evt_read_one', 'SUCCEEDED', ok.id);

    const res = await t.admin.get('/v1/messages/evt_read_one');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: 'evt_read_one',
      type,
      created_at: pub.created_at,
      data: { x: 1 },
      previous_data: { x: 0 },
      callback_url: `${rx.url}/ok`,
      delivery_count: 3,
    });
    const deliveries: any[] = res.body.deliveries;
    expect(deliveries).toHaveLength(3);
    for (const d of deliveries) {
      expect(Object.keys(d).sort()).toEqual(DELIVERY_FIELDS);
      expect(d.id).toMatch(/^dlv_/);
      expect(d.message_id).toBe('evt_read_one');
    }
    const byWebhook = new Map(deliveries.map((d) => [d.webhook_id, d]));
    expect(byWebhook.get(ok.id)).toMatchObject({
      status: 'SUCCEEDED',
      attempt_count: 1,
      last_status_code: 200,
    });
    expect(byWebhook.get(held.id)).toMatchObject({ status: 'HELD', attempt_count: 0, next_attempt_at: null });
    expect(byWebhook.get(null)).toMatchObject({ url: `${rx.url}/ok` });

    expectError(await t.admin.get('/v1/messages/evt_nope'), 404, 'not_found');
  });
});

import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp-dir.js';
import { ChildServer, waitUntil } from './child-server.js';
import { LoadReceiver } from './load-receiver.js';

/**
 * Crash safety with real processes (API.md "Retries": "a crash at any moment loses no message;
 * attempts in flight at the crash may be repeated … After a restart, due deliveries resume at once
 * and those that were in flight within 30 s"). The server is SIGKILLed while it delivers and while
 * single publishes are being acknowledged, then restarted on the same SQLite file.
 */
const TOTAL = 1000;
/** Published first, in batches of BATCH; the rest go as single POSTs on LANES concurrent lanes. */
const BATCHED = 900;
const BATCH = 100;
const LANES = 3;
/** SIGKILL the moment this many single publishes have had their 202. */
const KILL_AFTER_SINGLES = 30;
/** API.md: deliveries in flight at the crash resume within 30 s of the restart. */
const RESUME_WITHIN_MS = 30_000;

const message = (id: string) => ({ id, type: 'load.tick', data: { id } });

describe('crash safety: SIGKILL mid-delivery, restart on the same file', () => {
  const dir = tempDir('hookline-crash-');
  const dbPath = join(dir.path, 'hookline.db');
  // Answers after 20–50 ms, so deliveries are still under way when the server is killed.
  const rx = new LoadReceiver(() => 20 + Math.floor(Math.random() * 31));
  const servers: ChildServer[] = [];

  afterAll(async () => {
    for (const s of servers) await s.stop();
    await rx.close();
    dir.cleanup();
  });

  it('delivers every acknowledged message at least once', { timeout: 75_000 }, async () => {
    await rx.start();
    const first = await ChildServer.start(dbPath);
    servers.push(first);
    expect((await first.admin.post('/v1/event-types', { name: 'load.tick' })).status).toBe(201);
    const wh = await first.admin.post('/v1/webhooks', { url: `${rx.url}/hook`, events: ['load.tick'] });
    expect(wh.status, JSON.stringify(wh.body)).toBe(201);

    const ids = Array.from({ length: TOTAL }, (_, i) => `crash_${String(i).padStart(4, '0')}`);
    const acked = new Set<string>();

    // 1. Batches: delivery starts with the first committed batch.
    for (let i = 0; i < BATCHED; i += BATCH) {
      const res = await first.admin.post('/v1/messages/batch', {
        messages: ids.slice(i, i + BATCH).map(message),
      });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      for (const m of res.body.data as { id: string }[]) acked.add(m.id);
    }
    await waitUntil(
      () => rx.ids.size >= 50,
      15_000,
      () => `50 deliveries (got ${rx.ids.size})`,
    );

    // 2. Single publishes while deliveries run; SIGKILL right after the KILL_AFTER_SINGLES-th 202,
    //    with the other lanes' publishes still in flight.
    const queue = ids.slice(BATCHED);
    const unexpected: string[] = [];
    let singlesAcked = 0;
    let atKill = null as { acked: number; unique: number; open: Set<string>; lastAcked: string } | null;
    const lane = async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        let status: number;
        try {
          status = (await first.admin.post('/v1/messages', message(id))).status;
        } catch {
          return; // the server is gone: this publish was never acknowledged
        }
        if (status !== 202) {
          unexpected.push(`${id}: ${status}`);
          return;
        }
        acked.add(id);
        if (++singlesAcked === KILL_AFTER_SINGLES) {
          first.kill('SIGKILL');
          atKill = { acked: acked.size, unique: rx.ids.size, open: new Set(rx.open.keys()), lastAcked: id };
        }
      }
    };
    await Promise.all(Array.from({ length: LANES }, lane));
    const exit = await first.exited;
    expect(exit.signal, first.output).toBe('SIGKILL');
    expect(unexpected).toEqual([]);
    if (!atKill) throw new Error('the kill did not happen while publishing');
    const kill = atKill;
    // Midway: the receiver had seen some, not all, and attempts were in flight.
    expect(kill.unique).toBeGreaterThan(0);
    expect(kill.unique).toBeLessThan(kill.acked);
    expect(queue.length, 'publishing was still going on at the kill').toBeGreaterThan(0);
    expect(kill.open.size, 'attempts were in flight at the kill').toBeGreaterThan(0);

    // 3. Restart on the same file.
    const arrivalsBeforeRestart = rx.arrivals.length;
    const restartedAt = performance.now();
    const second = await ChildServer.start(dbPath);
    servers.push(second);
    const readyMs = performance.now() - restartedAt;
    const sinceRestart = () => rx.arrivals.slice(arrivalsBeforeRestart);

    // Requests the receiver had not answered at the kill were not recorded as successes: they are
    // attempted again, within 30 s of the restart.
    await waitUntil(
      () => {
        const again = new Set(sinceRestart().map((a) => a.id));
        return [...kill.open].every((id) => again.has(id));
      },
      RESUME_WITHIN_MS,
      () => `in-flight deliveries to resume (${kill.open.size} were in flight at the kill)`,
    );
    const inFlightResumedMs = performance.now() - restartedAt;

    await waitUntil(
      () => [...acked].every((id) => rx.ids.has(id)),
      RESUME_WITHIN_MS,
      () => {
        const missing = [...acked].filter((id) => !rx.ids.has(id));
        return `every acknowledged message to arrive; ${missing.length} missing, e.g. ${missing.slice(0, 5)}`;
      },
    );
    const allArrivedMs = performance.now() - restartedAt;
    expect(rx.ids.has(kill.lastAcked), 'the publish acknowledged just before the kill arrived').toBe(true);
    const firstResumedMs = (sinceRestart()[0]?.at ?? Number.NaN) - restartedAt;

    // Every delivery ends SUCCEEDED: no acknowledged work is left behind in the store either.
    await waitUntil(
      async () => (await second.admin.get('/v1/deliveries?status=PENDING&limit=1')).body.data.length === 0,
      10_000,
      'no PENDING deliveries left',
      50,
    );

    const unackedArrived = [...rx.ids].filter((id) => !acked.has(id)).length;
    const seen = new Map<string, number>();
    for (const a of rx.arrivals) seen.set(a.id, (seen.get(a.id) ?? 0) + 1);
    const repeatedIds = [...seen.values()].filter((n) => n > 1).length;
    console.log(
      [
        `crash: acknowledged=${acked.size} of ${TOTAL} published`,
        `at kill: ${kill.unique} received, ${kill.open.size} unanswered (in flight)`,
        `received=${rx.arrivals.length} unique=${rx.ids.size} duplicates=${rx.duplicates}`,
        `(${repeatedIds} ids received more than once; ${unackedArrived} unacknowledged ids arrived too)`,
        `after the restart: ready ${readyMs.toFixed(0)} ms, first delivery ${firstResumedMs.toFixed(0)} ms, ` +
          `in-flight ones again ${inFlightResumedMs.toFixed(0)} ms, all arrived ${allArrivedMs.toFixed(0)} ms`,
      ].join('; '),
    );
    second.kill('SIGTERM');
    expect((await second.exited).code, second.output).toBe(0);
  });
});

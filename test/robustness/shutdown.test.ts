import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp-dir.js';
import { ChildServer, waitUntil } from './child-server.js';
import { LoadReceiver } from './load-receiver.js';

/**
 * Graceful shutdown: SIGTERM while attempts are in flight and publishes are arriving. The process
 * stops taking requests, lets its attempts finish, records them, and exits 0 within a few seconds;
 * after a restart on the same file every acknowledged message arrives.
 */
const BATCHED = 150;
/** Each attempt takes this long at the receiver: attempts are in flight when the signal lands. */
const RECEIVER_DELAY_MS = 200;
const EXIT_WITHIN_MS = 5000;

const message = (id: string) => ({ id, type: 'shutdown.tick', data: { id } });

describe('graceful shutdown: SIGTERM with deliveries in flight', () => {
  const dir = tempDir('hookline-shutdown-');
  const dbPath = join(dir.path, 'hookline.db');
  const rx = new LoadReceiver(() => RECEIVER_DELAY_MS);
  const servers: ChildServer[] = [];

  afterAll(async () => {
    for (const s of servers) await s.stop();
    await rx.close();
    dir.cleanup();
  });

  it('exits 0 promptly and loses nothing across the restart', { timeout: 60_000 }, async () => {
    await rx.start();
    const first = await ChildServer.start(dbPath);
    servers.push(first);
    expect((await first.admin.post('/v1/event-types', { name: 'shutdown.tick' })).status).toBe(201);
    const wh = await first.admin.post('/v1/webhooks', { url: `${rx.url}/hook`, events: ['shutdown.tick'] });
    expect(wh.status, JSON.stringify(wh.body)).toBe(201);

    const acked = new Set<string>();
    const ids = Array.from({ length: BATCHED }, (_, i) => `term_${i}`);
    for (let i = 0; i < BATCHED; i += 50) {
      const res = await first.admin.post('/v1/messages/batch', {
        messages: ids.slice(i, i + 50).map(message),
      });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      for (const m of res.body.data as { id: string }[]) acked.add(m.id);
    }
    await waitUntil(
      () => rx.ids.size >= 20 && rx.open.size > 0,
      15_000,
      () => `deliveries in flight (received ${rx.ids.size}, unanswered ${rx.open.size})`,
    );

    // Publishes keep coming while the signal lands: each one either got its 202 (and must be
    // delivered) or was refused (503 while closing, or no connection) — never a 500.
    let signalled = false;
    const afterSignal: string[] = [];
    let n = 0;
    const publisher = (async () => {
      for (;;) {
        const id = `term_single_${n++}`;
        let status: number;
        try {
          status = (await first.admin.post('/v1/messages', message(id))).status;
        } catch {
          return; // no connection: the server has stopped listening
        }
        if (signalled) afterSignal.push(String(status));
        if (status === 202) acked.add(id);
        else if (signalled) return;
        else throw new Error(`publish ${id} answered ${status} before the signal`);
      }
    })();
    await waitUntil(() => n >= 5, 5000, 'single publishes under way');

    const inFlightAtSignal = rx.open.size;
    const receivedAtSignal = rx.ids.size;
    const signalledAt = performance.now();
    first.kill('SIGTERM');
    signalled = true;
    const exit = await Promise.race([
      first.exited,
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 15_000)),
    ]);
    const exitMs = performance.now() - signalledAt;
    expect(exit, `no exit within 15 s of SIGTERM:\n${first.output}`).not.toBeNull();
    expect(exit?.code, first.output).toBe(0);
    expect(exitMs).toBeLessThan(EXIT_WITHIN_MS);
    await publisher;
    expect(
      afterSignal.filter((s) => s !== '202' && s !== '503'),
      'answers to publishes after SIGTERM',
    ).toEqual([]);
    expect(receivedAtSignal, 'deliveries were still to come at the signal').toBeLessThan(acked.size);

    const restartedAt = performance.now();
    const second = await ChildServer.start(dbPath);
    servers.push(second);
    await waitUntil(
      () => [...acked].every((id) => rx.ids.has(id)),
      30_000,
      () =>
        `every acknowledged message to arrive (${[...acked].filter((id) => !rx.ids.has(id)).length} missing)`,
    );
    console.log(
      `shutdown: SIGTERM with ${inFlightAtSignal} attempts in flight, exit ${exit?.code} after ${exitMs.toFixed(0)} ms; ` +
        `acknowledged ${acked.size} (${acked.size - BATCHED} single publishes, answers after the signal: ` +
        `${afterSignal.join(',') || 'none'}); all arrived ${(performance.now() - restartedAt).toFixed(0)} ms ` +
        `after the restart; duplicates ${rx.duplicates}`,
    );
    second.kill('SIGTERM');
    expect((await second.exited).code, second.output).toBe(0);
  });
});

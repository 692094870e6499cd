/**
 * The scale-out topology with real processes on one PostgreSQL schema: one `--role api` process
 * takes the publishes, three `--role worker` processes deliver; one worker is SIGKILLed mid-load.
 * Checks at-least-once (every message arrives), that no delivery is ever attempted by two workers
 * at once (FOR UPDATE SKIP LOCKED + leases), and that LISTEN/NOTIFY carries work to a worker
 * without waiting for its poll. Needs HOOKLINE_TEST_DATABASE_URL and the build (dist/).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { LoadReceiver } from '../robustness/load-receiver.js';
import { tempDir } from '../support/temp-dir.js';
import { type AttemptSpan, Cluster, overlappingAttempts, TEST_DATABASE_URL, waitUntil } from './cluster.js';

const TOTAL = 5000;
const BATCH = 1000;
const EVENT_TYPE = 'scale.tick';

if (!TEST_DATABASE_URL)
  console.warn('multi-process scale tests: skipped: HOOKLINE_TEST_DATABASE_URL is not set');

describe.skipIf(!TEST_DATABASE_URL)('several processes on one PostgreSQL database', () => {
  const dir = tempDir('hookline-scale-');
  let cluster: Cluster | null = null;
  let rx: LoadReceiver | null = null;

  afterEach(async ({ task }) => {
    await cluster?.dispose(task.result?.state === 'fail');
    await rx?.close();
    cluster = null;
    rx = null;
  });
  afterAll(() => dir.cleanup());

  /** Starts the cluster's processes and registers the one webhook every message goes to. */
  async function setUp(c: Cluster, receiverUrl: string): Promise<void> {
    const api = c.nodes.find((n) => n.role === 'api');
    if (!api) throw new Error('no api process');
    const et = await api.admin.post('/v1/event-types', { name: EVENT_TYPE });
    expect(et.status, JSON.stringify(et.body)).toBe(201);
    // timeout_ms 1000 (the least): a dead worker's leases expire 3 s after its claim.
    const wh = await api.admin.post('/v1/webhooks', {
      url: `${receiverUrl}/hook`,
      events: [EVENT_TYPE],
      timeout_ms: 1000,
    });
    expect(wh.status, JSON.stringify(wh.body)).toBe(201);
  }

  it('1 api + 3 workers, one SIGKILLed mid-load: every message arrives, no two attempts of a delivery overlap', {
    timeout: 90_000,
  }, async () => {
    const url = TEST_DATABASE_URL as string;
    // Answers 200 after 5–20 ms, so every worker has attempts in flight when one is killed.
    const receiver = await new LoadReceiver(() => 5 + Math.floor(Math.random() * 16)).start();
    rx = receiver;
    const c = new Cluster(url, { cwd: dir.path });
    cluster = c;
    const api = await c.start('api'); // first: it creates the schema (the others would wait on its lock)
    const workers = await Promise.all([c.start('worker'), c.start('worker'), c.start('worker')]);
    await setUp(c, receiver.url);
    const victim = workers[0];
    if (!victim) throw new Error('no worker');

    const ids = Array.from({ length: TOTAL }, (_, i) => `scale_${String(i).padStart(5, '0')}`);
    const started = performance.now();
    let killedAt: { received: number; open: number; atMs: number } | null = null;
    const killer = (async () => {
      await waitUntil(
        () => receiver.ids.size >= TOTAL / 3,
        60_000,
        () => `a third of the messages to arrive (${receiver.ids.size})`,
        5,
      );
      killedAt = { received: receiver.ids.size, open: receiver.open.size, atMs: performance.now() - started };
      await c.kill(victim);
    })();
    for (let i = 0; i < TOTAL; i += BATCH) {
      const messages = ids.slice(i, i + BATCH).map((id) => ({ id, type: EVENT_TYPE, data: { id } }));
      const res = await api.admin.post('/v1/messages/batch', { messages });
      expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(202);
    }
    const published = performance.now() - started;
    await killer;
    expect((await victim.exited).signal).toBe('SIGKILL');

    await waitUntil(
      () => receiver.ids.size >= TOTAL,
      60_000,
      () => {
        const missing = ids.filter((id) => !receiver.ids.has(id));
        return `every message to arrive; ${missing.length} missing, e.g. ${missing.slice(0, 5)}`;
      },
    );
    const lastNew = firstArrivals(receiver).reduce((m, at) => Math.max(m, at), 0);
    const elapsedMs = lastNew - started;
    expect(ids.every((id) => receiver.ids.has(id))).toBe(true);

    // The store agrees: every delivery ends SUCCEEDED (the dead worker's leases expired and
    // another worker took them).
    await waitUntil(
      async () => (await succeeded(c)) === TOTAL,
      30_000,
      () => 'every delivery to be SUCCEEDED',
      100,
    );

    // No delivery was attempted by two workers at the same moment: its recorded attempts never
    // overlap in time. (The victim's unrecorded attempts are its at-least-once repeats.)
    const spans = (
      await c.query('SELECT delivery_id, started_at, duration_ms FROM attempts ORDER BY delivery_id, number')
    ).map(
      (r): AttemptSpan => ({
        deliveryId: String(r.delivery_id),
        startedAt: Number(r.started_at),
        durationMs: Number(r.duration_ms),
      }),
    );
    expect(spans.length).toBeGreaterThanOrEqual(TOTAL);
    expect(overlappingAttempts(spans).slice(0, 5)).toEqual([]);
    for (const w of workers.slice(1)) expect(w.child.exitCode, w.output).toBeNull();

    const duplicates = receiver.total - receiver.ids.size;
    const at = killedAt as { received: number; open: number; atMs: number } | null;
    console.log(
      [
        `multi-process (1 api + 3 workers, one SIGKILLed): ${TOTAL} messages`,
        `published in ${published.toFixed(0)} ms`,
        `killed at ${at?.atMs.toFixed(0)} ms with ${at?.received} received, ${at?.open} unanswered`,
        `received=${receiver.total} unique=${receiver.ids.size} duplicates=${duplicates}`,
        `attempts recorded=${spans.length}`,
        `most requests open at once at the receiver=${receiver.maxInFlightByPath.get('/hook')}`,
        `all arrived in ${(elapsedMs / 1000).toFixed(2)} s = ${((TOTAL * 1000) / elapsedMs).toFixed(0)} deliveries/s`,
      ].join('; '),
    );
  });

  it('LISTEN/NOTIFY: a publish reaches a worker whose poll is 60 s at once', {
    timeout: 60_000,
  }, async () => {
    const receiver = await new LoadReceiver(() => 0).start();
    rx = receiver;
    const c = new Cluster(TEST_DATABASE_URL as string, { cwd: dir.path });
    cluster = c;
    const api = await c.start('api');
    await c.startSlowPollWorker();
    await setUp(c, receiver.url);

    const latencies: number[] = [];
    for (let i = -1; i < 20; i++) {
      // Message -1 warms up connections; it is not counted.
      const id = `notify_${i}`;
      const t0 = performance.now();
      const res = await api.admin.post('/v1/messages', { id, type: EVENT_TYPE, data: {} });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      // Far under the 60 s poll: only a notification can have brought it.
      await waitUntil(
        () => receiver.ids.has(id),
        10_000,
        () => `${id} to arrive`,
        2,
      );
      const arrival = receiver.arrivals.find((a) => a.id === id);
      if (i >= 0 && arrival) latencies.push(arrival.at - t0);
    }
    latencies.sort((a, b) => a - b);
    const median = latencies[Math.floor(latencies.length / 2)] ?? Number.NaN;
    console.log(
      `LISTEN/NOTIFY: publish -> receipt over ${latencies.length} sequential messages: ` +
        `median ${median.toFixed(1)} ms, max ${(latencies.at(-1) ?? Number.NaN).toFixed(1)} ms`,
    );
    expect(median).toBeLessThan(200);
  });
});

/** The arrival time of each message id's first receipt. */
function firstArrivals(rx: LoadReceiver): number[] {
  const first = new Map<string, number>();
  for (const a of rx.arrivals) if (!first.has(a.id)) first.set(a.id, a.at);
  return [...first.values()];
}

async function succeeded(c: Cluster): Promise<number> {
  const [row] = await c.query("SELECT count(*)::int AS n FROM deliveries WHERE status = 'SUCCEEDED'");
  return Number(row?.n ?? 0);
}

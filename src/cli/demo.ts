import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateApiKey } from '../core/api-keys.js';
import { iso } from '../core/clock.js';
import { resolveConfig } from '../server/config.js';
import { startServer } from '../server/start-server.js';
import type { AttemptRecord } from '../store/store.js';
import { startDemoReceiver } from './demo-receiver.js';
import { fail } from './serve.js';

const DEMO_SCHEDULE = '1s,2s,4s';

function describe(r: AttemptRecord): string {
  const a = r.attempt;
  const path = new URL(r.url).pathname;
  const answer = a.statusCode === null ? a.error : `${a.statusCode}${a.error ? ` ${a.error}` : ''}`;
  const next =
    r.next.status === 'PENDING' && r.next.nextAttemptAt !== null
      ? `retry in ${((r.next.nextAttemptAt - Date.now()) / 1000).toFixed(1)}s`
      : r.next.status;
  return `${iso(a.startedAt).slice(11, 23)}  ${path.padEnd(8)} attempt ${a.number}  → ${answer} (${a.durationMs} ms)  ${next}`;
}

/** `hookline demo`: a server, a receiver, a webhook and a few events, attempts printed as they happen. */
export async function demoCommand(opts: { exit?: boolean }): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hookline-demo-'));
  const adminKey = generateApiKey('admin');
  const receiver = await startDemoReceiver();
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    const config = resolveConfig(
      { port: '0', db: join(dir, 'demo.db'), dev: true },
      {
        ...process.env,
        HOOKLINE_ADMIN_KEY: adminKey,
        HOOKLINE_RETRY_SCHEDULE: DEMO_SCHEDULE,
        HOOKLINE_LOG_LEVEL: 'warn',
      },
    );
    server = await startServer(config);
  } catch (err) {
    receiver.server.close();
    fail(err);
  }
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(server.url + path, {
      method,
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (await res.json()) as Record<string, unknown>;
  };
  const say = (line: string) => process.stdout.write(`${line}\n`);

  say(`Hookline ${server.url} (dev mode, temp database ${dir}, retry schedule ${DEMO_SCHEDULE})`);
  say(`Receiver ${receiver.url}: /orders answers 200, /flaky answers 503 twice per message, then 200\n`);
  await api('POST', '/v1/event-types', { name: 'order.created', example: { order: 'ord_1' } });
  await api('POST', '/v1/event-types', { name: 'order.paid' });
  await api('POST', '/v1/webhooks', {
    url: `${receiver.url}/orders`,
    events: ['order.*'],
    description: 'orders',
  });
  await api('POST', '/v1/webhooks', {
    url: `${receiver.url}/flaky`,
    events: ['order.paid'],
    description: 'flaky',
  });
  say(
    'Registered event types order.created, order.paid; webhooks /orders (order.*) and /flaky (order.paid)\n',
  );

  let pending = 0;
  let published = false;
  let finished = () => {};
  const done = new Promise<void>((resolve) => {
    finished = () => published && pending <= 0 && resolve();
  });
  server.dispatcher?.on('recorded', (records) => {
    for (const r of records) {
      say(describe(r));
      if (r.next.status !== 'PENDING') pending--;
    }
    finished();
  });
  for (const [i, type] of ['order.created', 'order.paid', 'order.paid'].entries()) {
    const res = await api('POST', '/v1/messages', {
      id: `evt_demo_${i + 1}`,
      type,
      data: { order: `ord_${i + 1}` },
    });
    pending += Number(res.delivery_count);
    say(`published evt_demo_${i + 1} (${type}) → ${res.delivery_count} deliveries`);
  }
  published = true;
  finished();
  await done;
  say('\nEvery delivery succeeded. Look around while it runs, e.g.:');
  say(`  curl -s ${server.url}/v1/deliveries -H 'Authorization: Bearer ${adminKey}'`);
  if (!opts.exit) say('Press Ctrl-C to stop (the temp database is removed).');
  const stop = async () => {
    await server.close();
    receiver.server.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  if (opts.exit) await stop();
}

// (f) Hookline's scale-out topology: 1 `--role api` and 2 `--role worker` processes on one
// PostgreSQL database, in a fresh schema dropped afterwards; throughput like (a).
import { randomBytes } from 'node:crypto';
import { createEventType, createWebhooks, Hookline, publishBatches } from './hookline.mjs';
import { collectDeliveries } from './measure.mjs';
import { nowMs } from './payload.mjs';
import { cpuSeconds, onCleanup } from './processes.mjs';
import { fmt, log } from './progress.mjs';
import { dropSchema } from './reference-pgboss.mjs';

const WORKERS = 2;

export async function postgresThroughput(ctx, { phase, prefix, messages, webhooks, databaseUrl }) {
  const { rx } = ctx;
  const schema = `hl_bench_${randomBytes(4).toString('hex')}`;
  const removeCleanup = onCleanup(() => dropSchema(databaseUrl, schema));
  const env = {
    HOOKLINE_DATABASE_SCHEMA: schema,
    HOOKLINE_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  };
  const args = (role) => ['--database-url', databaseUrl, '--role', role];
  const nodes = [];
  try {
    // The api process first: it creates the schema; then the workers.
    nodes.push(await Hookline.start({ name: 'hookline api', args: args('api'), env }));
    const workers = await Promise.all(
      Array.from({ length: WORKERS }, (_, i) =>
        Hookline.start({ name: `hookline worker ${i + 1}`, args: args('worker'), env }),
      ),
    );
    nodes.push(...workers);
    const [api] = nodes;
    await createEventType(api);
    await createWebhooks(
      api,
      rx.url,
      Array.from({ length: webhooks }, (_, i) => `${prefix}wh${i}`),
    );
    const expected = messages * webhooks;
    log(
      phase,
      `1 api + ${WORKERS} workers, schema ${schema}; publishing ${fmt(messages)} messages × ${webhooks} ` +
        `webhooks = ${fmt(expected)} deliveries (batches of 500)`,
    );
    const cpu0 = nodes.map((n) => cpuSeconds(n.pid));
    const t0 = nowMs();
    await publishBatches(api, messages, { batchSize: 500 });
    const publishSeconds = (nowMs() - t0) / 1000;
    log(phase, `published in ${fmt(publishSeconds, 1)} s`);
    const r = await collectDeliveries(rx, {
      phase,
      prefix,
      expected,
      t0,
      abort: () => nodes.some((n) => n.crashed),
    });
    return {
      ...r,
      schema,
      publishSeconds,
      processes: nodes.map((n, i) => ({
        name: n.name,
        cpuSeconds: cpuSeconds(n.pid) - cpu0[i],
        vmHwmMb: n.memory()?.hwm ?? null,
        logLines: n.logLines,
        firstLogLines: n.firstLogLines,
        crashed: n.crashed,
      })),
    };
  } finally {
    for (const n of nodes) await n.stop();
    removeCleanup();
    await dropSchema(databaseUrl, schema);
    await rx.forget(prefix);
  }
}

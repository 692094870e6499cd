// Reference for PostgreSQL mode: pg-boss 10 (Node 20 compatible; 11+ needs Node 22) in a fresh
// schema. The harness inserts one job per delivery (boss.insert, 1000 a call, two in flight, like
// Hookline's batch publishing); pgboss-worker.mjs (8 workers × batch 250) POSTs them.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { collectDeliveries } from './measure.mjs';
import { envelope, makeData, nowMs, referenceId } from './payload.mjs';
import { forkTracked, onCleanup, stopProcess } from './processes.mjs';
import { fmt, log } from './progress.mjs';

const WORKER = fileURLToPath(new URL('./pgboss-worker.mjs', import.meta.url));
const QUEUE = 'deliveries';

export async function dropSchema(databaseUrl, schema) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

export async function pgBossThroughput(ctx, { phase, prefix, deliveries, webhooks, databaseUrl }) {
  const schema = `pgboss_bench_${randomBytes(4).toString('hex')}`;
  const removeCleanup = onCleanup(() => dropSchema(databaseUrl, schema));
  const boss = new PgBoss({
    connectionString: databaseUrl,
    schema,
    max: 4,
    supervise: false,
    schedule: false,
  });
  boss.on('error', (err) => log(phase, `pg-boss: ${err.message}`));
  let child = null;
  try {
    await boss.start();
    await boss.createQueue(QUEUE);
    child = forkTracked(WORKER, [databaseUrl, schema, QUEUE, ctx.rx.url], 'pg-boss worker');
    const ready = await new Promise((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`pg-boss worker exited (${code})`)));
      child.once('message', resolve);
    });
    log(
      phase,
      `pg-boss ${ready.workers} workers × batch ${ready.batch}; inserting ${fmt(deliveries)} jobs (1000 a call)`,
    );
    let next = 0;
    const t0 = nowMs();
    const lane = async () => {
      while (next < deliveries) {
        const from = next;
        next = Math.min(deliveries, next + 1000);
        const jobs = [];
        for (let i = from; i < next; i++) {
          const id = referenceId(Math.floor(i / webhooks));
          const data = {
            path: `${prefix}wh${i % webhooks}`,
            id,
            body: envelope(id, makeData(Math.floor(i / webhooks))),
          };
          jobs.push({ name: QUEUE, data, retryLimit: 4, retryBackoff: true });
        }
        await boss.insert(jobs);
      }
    };
    await Promise.all([lane(), lane()]);
    log(phase, `inserted in ${fmt((nowMs() - t0) / 1000, 1)} s`);
    return await collectDeliveries(ctx.rx, {
      phase,
      prefix,
      expected: deliveries,
      t0,
      abort: () => child.exitCode !== null,
    });
  } finally {
    if (child) await stopProcess(child);
    await boss.stop({ graceful: false, timeout: 1000 }).catch(() => {});
    removeCleanup();
    await dropSchema(databaseUrl, schema);
    await ctx.rx.forget(prefix);
  }
}

// Reference sender process: pg-boss 10 with 8 workers fetching batches of 250 jobs; each job is one
// delivery, POSTed to the receiver with undici (the batch's POSTs run concurrently). Tuned: the
// polling interval is pg-boss's minimum (0.5 s), and a worker whose batch came back full fetches
// again at once (notifyWorker) instead of sleeping out the interval. Forked by reference-pgboss.mjs.
//   node pgboss-worker.mjs <database url> <schema> <queue> <receiver url>
import PgBoss from 'pg-boss';
import { Pool } from 'undici';

const [databaseUrl, schema, queue, receiverUrl] = process.argv.slice(2);
const WORKERS = 8;
const BATCH = 250;
const pool = new Pool(receiverUrl, { connections: 64, keepAliveTimeout: 30_000 });

const boss = new PgBoss({
  connectionString: databaseUrl,
  schema,
  max: WORKERS + 4,
  supervise: false,
  schedule: false,
});
boss.on('error', (err) => process.stderr.write(`pg-boss worker: ${err.message}\n`));
await boss.start();

async function deliver(job) {
  const { path, id, body } = job.data;
  const res = await pool.request({
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json', 'webhook-id': id },
    body,
  });
  await res.body.dump();
  if (res.statusCode >= 300) throw new Error(`receiver answered ${res.statusCode}`);
}

const ids = [];
for (let k = 0; k < WORKERS; k++) {
  ids[k] = await boss.work(queue, { batchSize: BATCH, pollingIntervalSeconds: 0.5 }, async (jobs) => {
    await Promise.all(jobs.map(deliver));
    if (jobs.length === BATCH && ids[k]) boss.notifyWorker(ids[k]);
  });
}
process.on('disconnect', () => process.exit(0));
process.send({ ready: true, workers: WORKERS, batch: BATCH });

// Reference sender process: a BullMQ worker (concurrency 64) whose job is one delivery, the POST of
// the job's payload to the receiver with undici. Forked by reference-bullmq.mjs.
//   node bullmq-worker.mjs <queue> <receiver url>
import { Worker } from 'bullmq';
import { Pool } from 'undici';

const [queue, receiverUrl] = process.argv.slice(2);
const CONCURRENCY = 64;
const pool = new Pool(receiverUrl, { connections: CONCURRENCY, keepAliveTimeout: 30_000 });

const worker = new Worker(
  queue,
  async (job) => {
    const { path, id, body } = job.data;
    const res = await pool.request({
      method: 'POST',
      path,
      headers: { 'content-type': 'application/json', 'webhook-id': id },
      body,
    });
    await res.body.dump();
    if (res.statusCode >= 300) throw new Error(`receiver answered ${res.statusCode}`);
  },
  { connection: { host: '127.0.0.1', port: 6379 }, concurrency: CONCURRENCY },
);
worker.on('error', (err) => process.stderr.write(`bullmq worker: ${err.message}\n`));
await worker.waitUntilReady();
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });

// Reference: BullMQ on the local Redis. The harness enqueues (one job per delivery, the same
// payload Hookline would send), a worker process (bullmq-worker.mjs, concurrency 64) POSTs it.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { collectDeliveries, measureLatency } from './measure.mjs';
import { envelope, makeData, nowMs, referenceId } from './payload.mjs';
import { forkTracked, onCleanup, stopProcess } from './processes.mjs';
import { fmt, log } from './progress.mjs';

const WORKER = fileURLToPath(new URL('./bullmq-worker.mjs', import.meta.url));
const CONNECTION = { host: '127.0.0.1', port: 6379 };
// What a webhook sender would ask of BullMQ: retries with backoff, completed jobs not kept.
const JOB_OPTS = { attempts: 5, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true };

async function withQueue(ctx, fn) {
  const name = `hookline-bench-${randomBytes(4).toString('hex')}`;
  const queue = new Queue(name, { connection: CONNECTION });
  const drop = async () => {
    await queue.obliterate({ force: true });
    await queue.close();
  };
  const removeCleanup = onCleanup(drop);
  const child = forkTracked(WORKER, [name, ctx.rx.url], 'bullmq worker');
  try {
    await new Promise((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`bullmq worker exited (${code})`)));
      child.once('message', resolve);
    });
    return await fn(queue, child);
  } finally {
    await stopProcess(child);
    removeCleanup();
    await drop();
  }
}

const job = (path, seq) => {
  const id = referenceId(seq);
  return { name: 'deliver', data: { path, id, body: envelope(id, makeData(seq)) }, opts: JOB_OPTS };
};

/** `deliveries` jobs enqueued with addBulk, 1000 a call, two calls in flight (like batch publishing). */
export async function bullmqThroughput(ctx, { phase, prefix, deliveries, webhooks }) {
  try {
    return await withQueue(ctx, async (queue, child) => {
      log(phase, `enqueueing ${fmt(deliveries)} jobs (addBulk of 1000), worker concurrency 64`);
      let next = 0;
      const t0 = nowMs();
      const lane = async () => {
        while (next < deliveries) {
          const from = next;
          next = Math.min(deliveries, next + 1000);
          const jobs = [];
          for (let i = from; i < next; i++)
            jobs.push(job(`${prefix}wh${i % webhooks}`, Math.floor(i / webhooks)));
          await queue.addBulk(jobs);
        }
      };
      await Promise.all([lane(), lane()]);
      log(phase, `enqueued in ${fmt((nowMs() - t0) / 1000, 1)} s`);
      return await collectDeliveries(ctx.rx, {
        phase,
        prefix,
        expected: deliveries,
        t0,
        abort: () => child.exitCode !== null,
      });
    });
  } finally {
    await ctx.rx.forget(prefix);
  }
}

/** One queue.add per message, paced; latency from the add to the receipt. */
export async function bullmqLatency(ctx, { phase, prefix }) {
  try {
    return await withQueue(ctx, (queue, child) => {
      const send = (i) => {
        const j = job(`${prefix}wh0`, i);
        return queue.add(j.name, j.data, j.opts);
      };
      return measureLatency(ctx.rx, {
        phase,
        prefix,
        rate: ctx.opts.rate,
        seconds: ctx.opts.latencySeconds,
        send,
        abort: () => child.exitCode !== null,
      });
    });
  } finally {
    await ctx.rx.forget(prefix);
  }
}

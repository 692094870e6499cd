import pg from 'pg';

/** One channel per schema, so several Hookline installations can share a database. */
export function workChannel(schema: string | null): string {
  return schema ? `hookline_work_${schema}` : 'hookline_work';
}

const RECONNECT_MS = [100, 500, 1000, 2000, 5000];

/**
 * LISTENs on its own connection (a pooled one could be handed back mid-listen) and calls
 * `listener` on every notification. Reconnects with backoff when the connection drops; the
 * dispatcher's poll covers anything announced while it was down.
 */
export async function listenForWork(
  connectionString: string,
  channel: string,
  listener: () => void,
  onError: (err: Error) => void,
): Promise<() => Promise<void>> {
  let client: pg.Client | null = null;
  let stopped = false;
  let failures = 0;

  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString });
    c.on('notification', () => listener());
    c.on('error', (err) => {
      onError(err);
      void c.end().catch(() => {});
      if (client === c) client = null;
      schedule();
    });
    await c.connect();
    await c.query(`LISTEN ${channel}`);
    if (stopped) {
      await c.end();
      return;
    }
    client = c;
    failures = 0;
    listener(); // anything announced while we were not listening is due now
  };

  const schedule = (): void => {
    if (stopped) return;
    const delay = RECONNECT_MS[Math.min(failures++, RECONNECT_MS.length - 1)];
    setTimeout(() => {
      connect().catch((err: Error) => {
        onError(err);
        schedule();
      });
    }, delay).unref();
  };

  await connect();
  return async () => {
    stopped = true;
    const c = client;
    client = null;
    await c?.end().catch(() => {});
  };
}

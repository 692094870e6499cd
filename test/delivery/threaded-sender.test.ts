import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signatureHeader } from '../../src/core/signing.js';
import type { RequestSpec } from '../../src/core/webhook-request.js';
import type { Sender } from '../../src/delivery/http-sender.js';
import { createThreadedSender } from '../../src/delivery/threaded-sender.js';
import { Receiver } from '../support/receiver.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

function spec(n: number): RequestSpec {
  return {
    messageId: `msg_${n}`,
    payload: JSON.stringify({ n }),
    timestampSec: 1_700_000_000,
    attempt: 1,
    secrets: [SECRET],
    signatureHeaderName: null,
    basicAuth: { username: 'u', password: 'p' },
    customHeaders: { 'X-Tenant': 'acme' },
    userAgent: 'Hookline/test',
  };
}

describe('the sending thread', () => {
  let rx: Receiver;
  let sender: Sender;
  const threadErrors: Error[] = [];
  beforeEach(async () => {
    rx = await new Receiver().start();
    threadErrors.length = 0;
    sender = createThreadedSender({ guard: null, onThreadError: (err) => threadErrors.push(err) });
  });
  afterEach(async () => {
    await sender.close();
    await rx.close();
  });

  it('sends many at once, each signed and answered to its own caller', async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, n) => sender.send(`${rx.url}/status/${200 + (n % 3)}`, spec(n), 3000)),
    );
    expect(results.map((r) => r.statusCode)).toEqual(Array.from({ length: 200 }, (_, n) => 200 + (n % 3)));
    expect(results[1]).toMatchObject({ error: null, responseBody: 'status 201' });
    expect(rx.received).toHaveLength(200);
    const r7 = rx.received.find((r) => r.headers['webhook-id'] === 'msg_7');
    expect(r7?.body).toBe('{"n":7}');
    expect(r7?.headers['webhook-signature']).toBe(
      signatureHeader([SECRET], 'msg_7', 1_700_000_000, '{"n":7}'),
    );
    expect(r7?.headers).toMatchObject({
      authorization: `Basic ${Buffer.from('u:p').toString('base64')}`,
      'x-tenant': 'acme',
      'user-agent': 'Hookline/test',
    });
  });

  it('fails the exchanges in flight when the thread dies, and starts another for the next send', async () => {
    const hanging = sender.send(`${rx.url}/hang`, spec(1), 10_000);
    await rx.waitFor(() => rx.at('/hang').length === 1);
    // A secret that is not a string cannot be signed with: that throws in the thread, outside any
    // handler, and the thread exits.
    const broken = sender.send(`${rx.url}/ok`, { ...spec(3), secrets: [42 as unknown as string] }, 1000);
    expect(await hanging).toMatchObject({ statusCode: null, error: 'sender_failed' });
    expect(await broken).toMatchObject({ statusCode: null, error: 'sender_failed' });
    expect(threadErrors).toHaveLength(1);
    expect(await sender.send(`${rx.url}/ok`, spec(2), 3000)).toMatchObject({ statusCode: 200, error: null });
  });

  it('answers an exchange cut off by close(), and refuses sends after it', async () => {
    const hanging = sender.send(`${rx.url}/hang`, spec(1), 30_000);
    await rx.waitFor(() => rx.at('/hang').length === 1);
    const started = Date.now();
    await sender.close();
    expect(await hanging).toMatchObject({ statusCode: null });
    expect((await hanging).error).not.toBeNull();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await sender.send(`${rx.url}/ok`, spec(2), 3000)).toMatchObject({
      statusCode: null,
      error: 'network_error',
    });
    expect(rx.at('/ok')).toHaveLength(0);
  });
});

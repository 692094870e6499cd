import type { LookupAddress } from 'node:dns';
import type { Cidr } from '../core/address-policy.js';
import type { RequestSpec } from '../core/webhook-request.js';
import type { SendResult } from './http-sender.js';

/** What the sending thread is started with. */
export interface SendThreadData {
  /** Production mode's extra allowed blocks (HOOKLINE_ALLOW_ADDRESSES); null in dev mode: no guard. */
  allow: Cidr[] | null;
}

/** The serving thread's answer to a `lookup`: the addresses, or why there are none. */
export interface LookupAnswer {
  lookupId: number;
  addresses?: readonly LookupAddress[];
  error?: { code: string | undefined; message: string };
}

/**
 * Jobs and results cross between the threads as flat arrays of primitives, JOB_SLOTS or
 * RESULT_SLOTS to an item: a structured clone writes every property name of every object it copies,
 * and copying the objects themselves cost three times as much as these arrays (measured per job,
 * both sides, 1.5 against 0.45 µs).
 */
export type Wire = (string | number | null | readonly string[])[];

export type ToThread = { jobs: Wire } | LookupAnswer | { close: true };

export type FromThread = { results: Wire } | { lookup: number; hostname: string } | { closed: true };

const JOB_SLOTS = 13;
const RESULT_SLOTS = 6;

/** One POST: id (for the answer), url, what to send (signed in the thread), timeout in ms. */
export function pushJob(wire: Wire, id: number, url: string, spec: RequestSpec, timeoutMs: number): void {
  const custom: string[] = [];
  for (const [name, value] of Object.entries(spec.customHeaders)) custom.push(name, value);
  wire.push(
    id,
    url,
    timeoutMs,
    spec.messageId,
    spec.payload,
    spec.timestampSec,
    spec.attempt,
    spec.secrets,
    spec.signatureHeaderName,
    spec.basicAuth?.username ?? null,
    spec.basicAuth?.password ?? null,
    custom,
    spec.userAgent,
  );
}

export function forEachJob(
  wire: Wire,
  fn: (id: number, url: string, spec: RequestSpec, timeoutMs: number) => void,
): void {
  for (let i = 0; i < wire.length; i += JOB_SLOTS) {
    const custom = wire[i + 11] as readonly string[];
    const customHeaders: Record<string, string> = {};
    for (let j = 0; j < custom.length; j += 2) customHeaders[custom[j] as string] = custom[j + 1] as string;
    const username = wire[i + 9] as string | null;
    fn(
      wire[i] as number,
      wire[i + 1] as string,
      {
        messageId: wire[i + 3] as string,
        payload: wire[i + 4] as string,
        timestampSec: wire[i + 5] as number,
        attempt: wire[i + 6] as number,
        secrets: wire[i + 7] as readonly string[],
        signatureHeaderName: wire[i + 8] as string | null,
        basicAuth: username === null ? null : { username, password: wire[i + 10] as string },
        customHeaders,
        userAgent: wire[i + 12] as string,
      },
      wire[i + 2] as number,
    );
  }
}

export function pushResult(wire: Wire, id: number, r: SendResult): void {
  wire.push(id, r.statusCode, r.responseBody, r.error, r.durationMs, r.retryAfter ?? null);
}

export function forEachResult(wire: Wire, fn: (id: number, result: SendResult) => void): void {
  for (let i = 0; i < wire.length; i += RESULT_SLOTS) {
    fn(wire[i] as number, {
      statusCode: wire[i + 1] as number | null,
      responseBody: wire[i + 2] as string | null,
      error: wire[i + 3] as string | null,
      durationMs: wire[i + 4] as number,
      retryAfter: (wire[i + 5] as string | null) ?? undefined,
    });
  }
}

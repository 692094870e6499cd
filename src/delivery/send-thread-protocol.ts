import type { LookupAddress } from 'node:dns';
import type { Cidr } from '../core/address-policy.js';
import type { RequestSpec } from '../core/webhook-request.js';
import type { SendResult } from './http-sender.js';

/** What the sending thread is started with. */
export interface SendThreadData {
  /** Production mode's extra allowed blocks (HOOKLINE_ALLOW_ADDRESSES); null in dev mode: no guard. */
  allow: Cidr[] | null;
}

/** One POST: id (for the answer), url, what to send (signed in the thread), timeout in ms. */
export type SendJob = [id: number, url: string, spec: RequestSpec, timeoutMs: number];

/** The serving thread's answer to a `lookup`: the addresses, or why there are none. */
export interface LookupAnswer {
  lookupId: number;
  addresses?: readonly LookupAddress[];
  error?: { code: string | undefined; message: string };
}

export type ToThread = { jobs: SendJob[] } | LookupAnswer | { close: true };

export type FromThread =
  | { results: [id: number, result: SendResult][] }
  | { lookup: number; hostname: string }
  | { closed: true };

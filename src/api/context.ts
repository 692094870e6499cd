import type { Clock } from '../core/clock.js';
import type { PayloadSchemas } from '../core/payload-schema.js';
import type { SecretBox } from '../core/secret-box.js';
import type { AddressGuard } from '../delivery/address-guard.js';
import type { Sender } from '../delivery/http-sender.js';
import type { Store } from '../store/store.js';
import type { KeyRateLimiter } from './rate-limit.js';

/** What route handlers may use. Built once per server. */
export interface ApiContext {
  store: Store;
  box: SecretBox;
  clock: Clock;
  dev: boolean;
  adminKeyHash: string;
  schemas: PayloadSchemas;
  /** Sends the synchronous test attempts. */
  sender: Sender;
  userAgent: string;
  /** Tells the delivery side that work may be due now (a requeue, reactivation). */
  wake: () => void;
  /** The same after a publish; a no-op where the store itself tells the dispatcher (SQLite). */
  published: () => void;
  /** Production mode's check of target hosts at registration; null in dev mode. */
  addressGuard: AddressGuard | null;
  /** Per-key request limit; null when HOOKLINE_API_RATE_LIMIT=off. */
  rateLimiter: KeyRateLimiter | null;
}

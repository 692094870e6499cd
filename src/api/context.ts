import type { Clock } from '../core/clock.js';
import type { PayloadSchemas } from '../core/payload-schema.js';
import type { SecretBox } from '../core/secret-box.js';
import type { Sender } from '../delivery/http-sender.js';
import type { Store } from '../store/store.js';

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
  /** Tells the delivery side that work may be due now (a publish, requeue, reactivation). */
  wake: () => void;
}

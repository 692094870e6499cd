import type { Clock } from '../core/clock.js';
import type { PayloadSchemas } from '../core/payload-schema.js';
import type { SecretBox } from '../core/secret-box.js';
import type { Store } from '../store/store.js';

/** What route handlers may use. Built once per server. */
export interface ApiContext {
  store: Store;
  box: SecretBox;
  clock: Clock;
  dev: boolean;
  adminKeyHash: string;
  schemas: PayloadSchemas;
}

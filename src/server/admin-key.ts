import { generateApiKey, hashApiKey } from '../core/api-keys.js';
import type { Store } from '../store/store.js';

const ADMIN_HASH_SETTING = 'admin_key_hash';

/**
 * The admin key's hash. HOOKLINE_ADMIN_KEY wins when set; otherwise the stored hash, or a new key
 * generated and stored on first start (returned so the caller can print it once).
 */
export async function resolveAdminKey(
  store: Store,
  fromEnv: string | null,
): Promise<{ hash: string; generated: string | null }> {
  if (fromEnv) return { hash: hashApiKey(fromEnv), generated: null };
  const existing = await store.getSetting(ADMIN_HASH_SETTING);
  if (existing) return { hash: existing, generated: null };
  const key = generateApiKey('admin');
  const stored = await store.initSetting(ADMIN_HASH_SETTING, hashApiKey(key));
  // Another process may have won the race to create it; then its key is the one, not ours.
  return stored === hashApiKey(key) ? { hash: stored, generated: key } : { hash: stored, generated: null };
}

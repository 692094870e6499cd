import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function generateApiKey(kind: 'admin' | 'tenant'): string {
  return `${kind === 'admin' ? 'hk_admin_' : 'hk_'}${randomBytes(32).toString('base64url')}`;
}

/** Keys carry 256 random bits, so a plain SHA-256 is enough (no slow KDF needed). */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

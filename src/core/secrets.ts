import { randomBytes } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** Why a secret is unusable, or null when it is fine. */
export function secretProblem(secret: string): string | null {
  if (secret.startsWith(SECRET_PREFIX)) {
    const b64 = secret.slice(SECRET_PREFIX.length);
    if (!BASE64_RE.test(b64) || b64.length % 4 !== 0)
      return 'a whsec_ secret must be base64 after the prefix';
    const n = Buffer.from(b64, 'base64').length;
    if (n < 24 || n > 64) return 'a whsec_ secret must decode to 24..64 bytes';
    return null;
  }
  if (secret.length < 16 || secret.length > 128)
    return 'must be 16..128 characters, or whsec_ followed by base64';
  return null;
}

/** The HMAC key of the Standard Webhooks signature: base64 after `whsec_`, else the UTF-8 bytes. */
export function signingKey(secret: string): Buffer {
  return secret.startsWith(SECRET_PREFIX)
    ? Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64')
    : Buffer.from(secret, 'utf8');
}

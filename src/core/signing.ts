import { createHmac } from 'node:crypto';
import { signingKey } from './secrets.js';

const keys = new Map<string, Buffer>();

/** A secret's key bytes, decoded once: the base64 decode was a fifth of a signature's cost. */
function keyOf(secret: string): Buffer {
  let key = keys.get(secret);
  if (!key) {
    key = signingKey(secret);
    if (keys.size >= 10_000) keys.clear();
    keys.set(secret, key);
  }
  return key;
}

/** One `v1,<base64>` entry of a Standard Webhooks signature. */
export function signEntry(secret: string, id: string, timestampSec: number, body: string | Buffer): string {
  const mac = createHmac('sha256', keyOf(secret));
  mac.update(`${id}.${timestampSec}.`);
  mac.update(body);
  return `v1,${mac.digest('base64')}`;
}

/** The `webhook-signature` value: one entry per live secret (two during a rotation), space separated. */
export function signatureHeader(
  secrets: readonly string[],
  id: string,
  timestampSec: number,
  body: string | Buffer,
): string {
  return secrets.map((s) => signEntry(s, id, timestampSec, body)).join(' ');
}

/** Legacy single-header style: lowercase hex HMAC of the body keyed with the secret string as registered. */
export function hexSignature(secret: string, body: string | Buffer): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest('hex');
}

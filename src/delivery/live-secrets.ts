import type { SecretBox } from '../core/secret-box.js';

interface SecretOwner {
  secret?: string;
  secretPrev?: string | null;
  secretPrevUntil?: number | null;
  callbackSecret?: string;
  callbackSecretPrev?: string | null;
  callbackSecretPrevUntil?: number | null;
}

const cache = new Map<string, string>();

/** Decrypting is cheap but not free on the hot path; sealed values never change, so cache them. */
function open(box: SecretBox, sealed: string): string {
  let plain = cache.get(sealed);
  if (plain === undefined) {
    plain = box.open(sealed);
    if (cache.size > 10_000) cache.clear();
    cache.set(sealed, plain);
  }
  return plain;
}

/** Newest first; the previous secret signs too until its 24 h overlap ends. */
export function liveSecrets(box: SecretBox, owner: SecretOwner, now: number): string[] {
  const current = owner.secret ?? owner.callbackSecret;
  const prev = owner.secret !== undefined ? owner.secretPrev : owner.callbackSecretPrev;
  const until = owner.secret !== undefined ? owner.secretPrevUntil : owner.callbackSecretPrevUntil;
  const out = current ? [open(box, current)] : [];
  if (prev && until != null && until > now) out.push(open(box, prev));
  return out;
}

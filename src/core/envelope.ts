import { createHash } from 'node:crypto';
import { iso } from './clock.js';

export interface MessageInput {
  type: string;
  data: unknown;
  previousData: unknown;
  callbackUrl: string | null;
}

/**
 * The body every attempt sends, serialized once at publish and stored: receivers get the same
 * bytes on every attempt and redelivery, so their signature checks and dedupe keep working.
 */
export function envelope(id: string, input: MessageInput, createdAt: number): string {
  return JSON.stringify({
    id,
    type: input.type,
    created_at: iso(createdAt),
    data: input.data,
    previous_data: input.previousData,
  });
}

/** Tells an idempotent repeat (same content) from a conflicting reuse of the same key. */
export function contentHash(input: MessageInput): string {
  return createHash('sha256')
    .update(JSON.stringify([input.type, input.data, input.previousData, input.callbackUrl]))
    .digest('base64url');
}

import type { Tenant, Webhook } from '../core/model.js';
import type { SecretBox } from '../core/secret-box.js';
import type { RequestSpec } from '../core/webhook-request.js';
import { liveSecrets } from './live-secrets.js';

export interface SpecInput {
  messageId: string;
  payload: string;
  /** When the attempt starts (epoch ms): the signed timestamp, and which secrets are live. */
  at: number;
  attempt: number;
  userAgent: string;
}

/**
 * What an attempt sends to a webhook (or, with `webhook` null, to the tenant's callback URL): its
 * live secrets opened, its auth, its own headers. Turned into headers where the request is sent.
 */
export function requestSpec(
  box: SecretBox,
  to: { webhook: Webhook | null; tenant: Tenant | null },
  input: SpecInput,
): RequestSpec {
  const { webhook } = to;
  const owner = webhook ?? to.tenant;
  return {
    messageId: input.messageId,
    payload: input.payload,
    timestampSec: Math.floor(input.at / 1000),
    attempt: input.attempt,
    secrets: owner ? liveSecrets(box, owner, input.at) : [],
    signatureHeaderName: webhook?.signatureHeader ?? null,
    basicAuth:
      webhook?.authUsername != null
        ? {
            username: webhook.authUsername,
            password: webhook.authPassword ? box.open(webhook.authPassword) : '',
          }
        : null,
    customHeaders: webhook?.headers ?? {},
    userAgent: input.userAgent,
  };
}

import type { Clock } from '../core/clock.js';
import { nextStep, parseRetryAfter } from '../core/retry-policy.js';
import type { SecretBox } from '../core/secret-box.js';
import { webhookHeaders } from '../core/webhook-request.js';
import type { AttemptRecord, ClaimedDelivery } from '../store/store.js';
import type { Sender } from './http-sender.js';
import { liveSecrets } from './live-secrets.js';

const CALLBACK_TIMEOUT_MS = 5000;

export interface AttemptDeps {
  box: SecretBox;
  clock: Clock;
  sender: Sender;
  retryScheduleMs: readonly number[];
  userAgent: string;
}

/** One signed POST of a claimed delivery, and what should happen next. Never throws. */
export async function attemptOnce(c: ClaimedDelivery, deps: AttemptDeps): Promise<AttemptRecord> {
  const { delivery, webhook } = c;
  const startedAt = deps.clock.now();
  const number = delivery.attemptCount + 1;
  const owner = webhook ?? c.tenant;
  const secrets = owner ? liveSecrets(deps.box, owner, startedAt) : [];
  const headers = webhookHeaders({
    messageId: delivery.messageId,
    payload: c.payload,
    timestampSec: Math.floor(startedAt / 1000),
    attempt: number,
    secrets,
    signatureHeaderName: webhook?.signatureHeader ?? null,
    basicAuth:
      webhook?.authUsername != null
        ? {
            username: webhook.authUsername,
            password: webhook.authPassword ? deps.box.open(webhook.authPassword) : '',
          }
        : null,
    customHeaders: webhook?.headers ?? {},
    userAgent: deps.userAgent,
  });
  const url = webhook?.url ?? delivery.url;
  const result = await deps.sender.send(url, headers, c.payload, webhook?.timeoutMs ?? CALLBACK_TIMEOUT_MS);
  const now = deps.clock.now();
  const success = result.error === null;
  const schedule = webhook?.retrySchedule ? webhook.retrySchedule.map((s) => s * 1000) : deps.retryScheduleMs;
  const retryAfterMs =
    result.statusCode === null ? null : parseRetryAfter(result.statusCode, result.retryAfter, now);
  const step = nextStep(
    { success, statusCode: result.statusCode, retryAfterMs },
    number - delivery.retryBase,
    schedule,
    now,
  );
  return {
    attempt: {
      deliveryId: delivery.id,
      tenantId: delivery.tenantId,
      number,
      startedAt,
      durationMs: result.durationMs,
      statusCode: result.statusCode,
      responseBody: result.responseBody,
      error: result.error,
    },
    url,
    success,
    webhookId: webhook?.id ?? null,
    next: { status: step.status, nextAttemptAt: step.status === 'PENDING' ? step.nextAttemptAt : null },
  };
}

import type { Clock } from '../core/clock.js';
import { nextStep, parseRetryAfter } from '../core/retry-policy.js';
import type { SecretBox } from '../core/secret-box.js';
import type { AttemptRecord, ClaimedDelivery } from '../store/store.js';
import type { Sender } from './http-sender.js';
import { requestSpec } from './request-spec.js';

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
  const spec = requestSpec(deps.box, c, {
    messageId: delivery.messageId,
    payload: c.payload,
    at: startedAt,
    attempt: number,
    userAgent: deps.userAgent,
  });
  const url = webhook?.url ?? delivery.url;
  const result = await deps.sender.send(url, spec, webhook?.timeoutMs ?? CALLBACK_TIMEOUT_MS);
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

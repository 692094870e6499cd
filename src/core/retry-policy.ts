/** What happens to a delivery after an attempt: pure, so tests need no clock or network. */

export const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

export type NextStep =
  | { status: 'SUCCEEDED' }
  | { status: 'FAILED' }
  | { status: 'PENDING'; nextAttemptAt: number };

export interface AttemptFacts {
  success: boolean;
  statusCode: number | null;
  /** Retry-After in ms when the receiver sent one with a 429 or 503. */
  retryAfterMs: number | null;
}

/** ±10% so that many deliveries failing together do not retry in lockstep. */
export function jittered(delayMs: number, random: () => number = Math.random): number {
  return Math.round(delayMs * (0.9 + 0.2 * random()));
}

/**
 * `attemptsInSchedule` counts the attempts made since the current schedule started (this one
 * included); the schedule lists the waits after the 1st, 2nd … attempt.
 */
export function nextStep(
  facts: AttemptFacts,
  attemptsInSchedule: number,
  scheduleMs: readonly number[],
  now: number,
  random: () => number = Math.random,
): NextStep {
  if (facts.success) return { status: 'SUCCEEDED' };
  const wait = scheduleMs[attemptsInSchedule - 1];
  if (wait === undefined) return { status: 'FAILED' };
  let delay = jittered(wait, random);
  if (facts.retryAfterMs !== null && facts.retryAfterMs > delay)
    delay = Math.min(facts.retryAfterMs, MAX_RETRY_AFTER_MS);
  return { status: 'PENDING', nextAttemptAt: now + delay };
}

/** Retry-After is delta-seconds or an HTTP date; only 429 and 503 ask for a pause. */
export function parseRetryAfter(statusCode: number, header: string | undefined, now: number): number | null {
  if ((statusCode !== 429 && statusCode !== 503) || !header) return null;
  const text = header.trim();
  if (/^\d{1,10}$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/**
 * A webhook is suspended when a delivery fails for good and nothing reached it since that
 * delivery's first attempt: the endpoint has been dead for the whole retry schedule.
 */
export function shouldSuspend(lastSuccessAt: number | null, deliveryFirstAttemptAt: number | null): boolean {
  if (lastSuccessAt === null) return true;
  return deliveryFirstAttemptAt !== null && lastSuccessAt < deliveryFirstAttemptAt;
}

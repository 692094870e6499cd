import { Type } from '@sinclair/typebox';
import { ApiError, invalid } from '../core/errors.js';
import { isEventPattern, isWildcard } from '../core/event-types.js';
import type { WebhookSettings } from '../core/model.js';
import { secretProblem } from '../core/secrets.js';
import {
  headerNameProblem,
  headerValueProblem,
  MAX_CUSTOM_HEADERS,
  urlProblem,
} from '../core/webhook-rules.js';
import type { ApiContext } from './context.js';
import { Nullable, Text } from './schemas.js';

const MAX_METADATA_BYTES = 16 * 1024;

const fields = {
  url: Type.Optional(Type.String({ maxLength: 4096 })),
  callbackUrl: Type.Optional(Type.String({ maxLength: 4096 })),
  events: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 100 })),
  description: Type.Optional(Nullable(Text(1000))),
  auth: Type.Optional(
    Nullable(Type.Object({ username: Text(256, 1), password: Text(256) }, { additionalProperties: false })),
  ),
  authUsername: Type.Optional(Nullable(Text(256, 1))),
  authPassword: Type.Optional(Nullable(Text(256))),
  headers: Type.Optional(
    Type.Record(Type.String(), Type.String({ maxLength: 4096 }), { maxProperties: MAX_CUSTOM_HEADERS }),
  ),
  timeout_ms: Type.Optional(Type.Integer({ minimum: 1000, maximum: 30000 })),
  rate_limit_per_sec: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 10000 }))),
  retry_schedule: Type.Optional(
    Nullable(Type.Array(Type.Integer({ minimum: 1, maximum: 259200 }), { maxItems: 20 })),
  ),
  signature_header: Type.Optional(Nullable(Type.String({ maxLength: 128 }))),
  metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
};

export const CreateWebhookBody = Type.Object(
  { ...fields, secret: Type.Optional(Type.String({ maxLength: 200 })) },
  { additionalProperties: false },
);
export const UpdateWebhookBody = Type.Object(
  { ...fields, status: Type.Optional(Type.String()) },
  { additionalProperties: false },
);

export interface WebhookBody {
  url?: string;
  callbackUrl?: string;
  events?: string[];
  secret?: string;
  description?: string | null;
  auth?: { username: string; password: string } | null;
  authUsername?: string | null;
  authPassword?: string | null;
  headers?: Record<string, string>;
  timeout_ms?: number;
  rate_limit_per_sec?: number | null;
  retry_schedule?: number[] | null;
  signature_header?: string | null;
  metadata?: Record<string, unknown>;
  status?: string;
}

export function checkSecret(secret: string): void {
  const problem = secretProblem(secret);
  if (problem) throw invalid(`secret: ${problem}`);
}

/** `subscribed`: the webhook's current patterns; an archived type among them may be sent again. */
async function checkEvents(ctx: ApiContext, events: string[], subscribed: readonly string[]): Promise<void> {
  for (const [i, pattern] of events.entries()) {
    if (!isEventPattern(pattern))
      throw invalid(`events[${i}]: "${pattern}" is not an event type name, prefix.* or *`);
  }
  for (const [i, pattern] of events.entries()) {
    if (isWildcard(pattern)) continue;
    const type = await ctx.store.getEventType(pattern);
    if (!type || (type.archivedAt !== null && !subscribed.includes(pattern))) {
      throw new ApiError('unknown_event_type', `events[${i}]: "${pattern}" is not in the event type catalog`);
    }
  }
}

function checkHeaders(headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) {
    const problem = headerNameProblem(name) ?? headerValueProblem(value);
    if (problem) throw invalid(`headers.${name}: ${problem}`);
  }
}

/**
 * Turns a create/update body (aliases included) into the settings it changes. `creating` makes
 * url required and fills defaults; on update only the fields present change, and null clears.
 */
export async function webhookSettingsFrom(
  ctx: ApiContext,
  body: WebhookBody,
  creating: boolean,
  current: Pick<WebhookSettings, 'authUsername' | 'events'> | null = null,
): Promise<Partial<WebhookSettings>> {
  const out: Partial<WebhookSettings> = {};
  if (body.url !== undefined && body.callbackUrl !== undefined && body.url !== body.callbackUrl) {
    throw invalid('callbackUrl: is an alias of url; send one of them');
  }
  const url = body.url ?? body.callbackUrl;
  if (url !== undefined) {
    const problem = urlProblem(url, ctx.dev);
    // Name the field as it was sent: a client using the alias looks for "callbackUrl".
    if (problem) throw invalid(`${body.url === undefined ? 'callbackUrl' : 'url'}: ${problem}`);
    const blocked = await ctx.addressGuard?.urlProblem(url);
    if (blocked) throw invalid(`${body.url === undefined ? 'callbackUrl' : 'url'}: ${blocked}`);
    out.url = url;
  } else if (creating) {
    throw invalid('url: is required');
  }
  if (body.events !== undefined) {
    // Archiving a type keeps existing subscriptions, so a PATCH re-sending them is no new one.
    await checkEvents(ctx, body.events, current?.events ?? []);
    out.events = [...new Set(body.events)];
  }
  if (body.description !== undefined) out.description = body.description;
  if (body.auth !== undefined && (body.authUsername !== undefined || body.authPassword !== undefined)) {
    throw invalid('auth: send either auth or authUsername/authPassword, not both');
  }
  if (body.auth !== undefined) {
    out.authUsername = body.auth?.username ?? null;
    out.authPassword = body.auth ? ctx.box.seal(body.auth.password) : null;
  } else if (body.authUsername !== undefined || body.authPassword !== undefined) {
    if (body.authUsername === null) {
      out.authUsername = null;
      out.authPassword = null;
    } else {
      const username = body.authUsername ?? current?.authUsername ?? null;
      if (username === null) throw invalid('authUsername: is required with authPassword');
      out.authUsername = username;
      if (body.authPassword !== undefined || creating)
        out.authPassword = ctx.box.seal(body.authPassword ?? '');
    }
  }
  if (out.authUsername?.includes(':')) throw invalid('auth.username: must not contain ":"');
  if (body.headers !== undefined) {
    checkHeaders(body.headers);
    out.headers = body.headers;
  }
  if (body.timeout_ms !== undefined) out.timeoutMs = body.timeout_ms;
  if (body.rate_limit_per_sec !== undefined) out.rateLimitPerSec = body.rate_limit_per_sec;
  if (body.retry_schedule !== undefined) out.retrySchedule = body.retry_schedule;
  if (body.signature_header !== undefined) {
    if (body.signature_header !== null) {
      const problem = headerNameProblem(body.signature_header);
      if (problem) throw invalid(`signature_header: ${problem}`);
    }
    out.signatureHeader = body.signature_header;
  }
  if (body.metadata !== undefined) {
    if (Buffer.byteLength(JSON.stringify(body.metadata)) > MAX_METADATA_BYTES) {
      throw invalid(`metadata: must be at most ${MAX_METADATA_BYTES} bytes as JSON`);
    }
    out.metadata = body.metadata;
  }
  if (creating) {
    return {
      events: [],
      description: null,
      authUsername: null,
      authPassword: null,
      headers: {},
      timeoutMs: 5000,
      rateLimitPerSec: null,
      retrySchedule: null,
      signatureHeader: null,
      metadata: {},
      ...out,
    };
  }
  return out;
}

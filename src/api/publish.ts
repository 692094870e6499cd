import { Type } from '@sinclair/typebox';
import { contentHash, envelope, type MessageInput } from '../core/envelope.js';
import { ApiError, invalid } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { EventType } from '../core/model.js';
import { urlProblem } from '../core/webhook-rules.js';
import { IdempotencyConflict, type MessageDraft, type PublishResult } from '../store/store.js';
import type { ApiContext } from './context.js';
import { AnyJson, Nullable } from './schemas.js';
import { validationMessage } from './validation-message.js';

export const MAX_MESSAGE_BYTES = 256 * 1024;
export const MAX_BATCH_BYTES = 10 * 1024 * 1024;

export const MessageBody = Type.Object(
  {
    id: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$' })),
    type: Type.String({ minLength: 1, maxLength: 128 }),
    data: AnyJson,
    previous_data: Type.Optional(AnyJson),
    callback_url: Type.Optional(Nullable(Type.String({ maxLength: 4096 }))),
  },
  { additionalProperties: false, required: ['type', 'data'] },
);

export interface MessageBodyShape {
  id?: string;
  type: string;
  data: unknown;
  previous_data?: unknown;
  callback_url?: string | null;
}

const at = (prefix: string, field: string) => (prefix ? `${prefix}.${field}` : field);

/** Looks an event type up once per publish call, however many of its messages share it. */
type EventTypeLookup = (name: string) => Promise<EventType | null>;

function eventTypeLookup(ctx: ApiContext): EventTypeLookup {
  const seen = new Map<string, Promise<EventType | null>>();
  return (name) => {
    let found = seen.get(name);
    if (!found) {
      found = ctx.store.getEventType(name);
      seen.set(name, found);
    }
    return found;
  };
}

async function draftOf(
  ctx: ApiContext,
  eventType: EventTypeLookup,
  body: MessageBodyShape,
  idempotencyKey: string | null,
  prefix: string,
  now: number,
): Promise<MessageDraft> {
  if (prefix && Buffer.byteLength(JSON.stringify(body)) > MAX_MESSAGE_BYTES) {
    throw new ApiError('payload_too_large', `${prefix}: larger than ${MAX_MESSAGE_BYTES / 1024} KiB`);
  }
  const type = await eventType(body.type);
  if (!type || type.archivedAt !== null) {
    throw new ApiError(
      'unknown_event_type',
      `${at(prefix, 'type')}: "${body.type}" is not in the event type catalog`,
    );
  }
  if (type.schema !== null) {
    const check = ctx.schemas.validator(type.schema);
    if (!check(body.data)) {
      // Names the failing path, a missing required property included (`data.amount: is required`).
      throw invalid(validationMessage(check.errors ?? [], at(prefix, 'data'), at(prefix, 'data')));
    }
  }
  const callbackUrl = body.callback_url ?? null;
  if (callbackUrl !== null) {
    const problem = urlProblem(callbackUrl, ctx.dev);
    if (problem) throw invalid(`${at(prefix, 'callback_url')}: ${problem}`);
    const blocked = await ctx.addressGuard?.urlProblem(callbackUrl);
    if (blocked) throw invalid(`${at(prefix, 'callback_url')}: ${blocked}`);
  }
  const input: MessageInput = {
    type: body.type,
    data: body.data,
    previousData: body.previous_data ?? null,
    callbackUrl,
  };
  const id = body.id ?? newId('msg');
  const key = body.id === undefined ? idempotencyKey : null;
  const fresh = body.id === undefined && key === null;
  return {
    message: {
      id,
      tenantId: '',
      type: body.type,
      payload: envelope(id, input, now),
      callbackUrl,
      idempotencyKey: key,
      contentHash: fresh ? '' : contentHash(input),
      createdAt: now,
    },
    fresh,
  };
}

/** Validates and stores messages (all or nothing), then wakes the dispatcher. */
export async function publish(
  ctx: ApiContext,
  tenantId: string,
  bodies: MessageBodyShape[],
  idempotencyKey: string | null,
  listName: string,
): Promise<PublishResult[]> {
  const now = ctx.clock.now();
  const drafts: MessageDraft[] = [];
  const eventType = eventTypeLookup(ctx);
  for (const [i, body] of bodies.entries()) {
    const draft = await draftOf(
      ctx,
      eventType,
      body,
      idempotencyKey,
      listName ? `${listName}[${i}]` : '',
      now,
    );
    draft.message.tenantId = tenantId;
    drafts.push(draft);
  }
  try {
    const results = await ctx.store.publishMessages(tenantId, drafts, now);
    if (results.some((r) => r.created)) ctx.published();
    return results;
  } catch (err) {
    if (!(err instanceof IdempotencyConflict)) throw err;
    const field = listName
      ? `${listName}[${err.index}].id`
      : bodies[0]?.id !== undefined
        ? 'id'
        : 'idempotency-key';
    throw new ApiError('conflict', `${field}: already used for a message with different content`);
  }
}

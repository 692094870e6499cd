import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { envelope } from '../../core/envelope.js';
import { ApiError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import type { Webhook } from '../../core/model.js';
import { requestSpec } from '../../delivery/request-spec.js';
import { tenantScope } from '../auth.js';
import type { ApiContext } from '../context.js';
import { errorResponses, IsoTime, Nullable } from '../schemas.js';
import { loadWebhook } from './webhooks.js';

const TestResult = Type.Object({
  success: Type.Boolean(),
  status_code: Nullable(Type.Integer()),
  duration_ms: Type.Integer(),
  response_body: Nullable(Type.String()),
  error: Nullable(Type.String()),
  message_id: Type.String(),
});
const TestFields = { event_type: Type.Optional(Type.String({ maxLength: 128 })) };
const IdParams = Type.Object({ id: Type.String({ maxLength: 100 }) });

/** One signed attempt now, whatever the webhook's status; recorded nowhere, so it never counts toward suspension. */
async function sendTest(ctx: ApiContext, webhook: Webhook, eventType: string | undefined) {
  let type = 'webhook.test';
  let data: unknown = {};
  if (eventType !== undefined) {
    const known = await ctx.store.getEventType(eventType);
    if (!known)
      throw new ApiError('unknown_event_type', `event_type: "${eventType}" is not in the event type catalog`);
    type = known.name;
    data = known.example ?? {};
  }
  const now = ctx.clock.now();
  const messageId = newId('msg');
  const payload = envelope(messageId, { type, data, previousData: null, callbackUrl: null }, now);
  const spec = requestSpec(
    ctx.box,
    { webhook, tenant: null },
    { messageId, payload, at: now, attempt: 1, userAgent: ctx.userAgent },
  );
  const r = await ctx.sender.send(webhook.url, spec, webhook.timeoutMs);
  return {
    success: r.error === null,
    status_code: r.statusCode,
    duration_ms: r.durationMs,
    response_body: r.responseBody,
    error: r.error,
    message_id: messageId,
  };
}

export function webhookActionRoutes(app: FastifyInstance, ctx: ApiContext): void {
  for (const base of ['/v1', '/v1/tenants/:tid']) {
    app.post<{ Params: { id: string }; Body: { event_type?: string } }>(
      `${base}/webhooks/:id/test`,
      {
        schema: {
          tags: ['webhooks'],
          params: IdParams,
          body: Type.Object(TestFields, { additionalProperties: false }),
          response: { 200: TestResult, ...errorResponses },
        },
      },
      async (req) => {
        const webhook = await loadWebhook(ctx, await tenantScope(ctx, req), req.params.id);
        return sendTest(ctx, webhook, req.body.event_type);
      },
    );

    app.post<{ Body: { webhook_id: string; event_type?: string } }>(
      `${base}/webhooks/test`,
      {
        schema: {
          tags: ['webhooks'],
          body: Type.Object(
            { webhook_id: Type.String({ maxLength: 100 }), ...TestFields },
            { additionalProperties: false },
          ),
          response: { 200: TestResult, ...errorResponses },
        },
      },
      async (req) => {
        const webhook = await loadWebhook(ctx, await tenantScope(ctx, req), req.body.webhook_id);
        return sendTest(ctx, webhook, req.body.event_type);
      },
    );

    app.post<{ Params: { id: string }; Body: { since: string } }>(
      `${base}/webhooks/:id/recover`,
      {
        schema: {
          tags: ['webhooks'],
          params: IdParams,
          body: Type.Object({ since: IsoTime }, { additionalProperties: false }),
          response: { 202: Type.Object({ requeued: Type.Integer() }), ...errorResponses },
        },
      },
      async (req, reply) => {
        const tenantId = await tenantScope(ctx, req);
        const webhook = await loadWebhook(ctx, tenantId, req.params.id);
        const now = ctx.clock.now();
        const requeued = await ctx.store.recoverWebhook(
          tenantId,
          webhook.id,
          Date.parse(req.body.since),
          now,
        );
        ctx.wake();
        return reply.code(202).send({ requeued });
      },
    );
  }
}

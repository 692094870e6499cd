import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ApiError, notFound } from '../../core/errors.js';

import { adminOnly, tenantScope } from '../auth.js';
import type { ApiContext } from '../context.js';
import { deliveryJson, messageJson, pageJson, publishedJson } from '../presenters.js';
import { MAX_BATCH_BYTES, MessageBody, type MessageBodyShape, publish } from '../publish.js';
import { AnyJson, errorResponses, IsoTime, ListQuery, listOf, Nullable } from '../schemas.js';

const Published = Type.Object({
  id: Type.String(),
  type: Type.String(),
  created_at: Type.String(),
  delivery_count: Type.Integer(),
});
const MessageJson = Type.Object(
  {
    id: Type.String(),
    type: Type.String(),
    created_at: Type.String(),
    data: AnyJson,
    previous_data: AnyJson,
    callback_url: Nullable(Type.String()),
    delivery_count: Type.Integer(),
  },
  { additionalProperties: true },
);
const IdParams = Type.Object({ id: Type.String({ maxLength: 200 }) });

export function messageRoutes(app: FastifyInstance, ctx: ApiContext): void {
  for (const base of ['/v1', '/v1/tenants/:tid']) {
    app.post<{ Body: MessageBodyShape; Headers: { 'idempotency-key'?: string } }>(
      `${base}/messages`,
      {
        config: { allowNul: true },
        preValidation: adminOnly,
        schema: {
          tags: ['messages'],
          body: MessageBody,
          headers: Type.Object({
            'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
          }),
          response: { 200: Published, 202: Published, ...errorResponses },
        },
      },
      async (req, reply) => {
        const tenantId = await tenantScope(ctx, req);
        const [result] = await publish(ctx, tenantId, [req.body], req.headers['idempotency-key'] ?? null, '');
        if (!result) throw new ApiError('internal', 'publish returned nothing');
        return reply.code(result.created ? 202 : 200).send(publishedJson(result.message));
      },
    );

    app.post<{ Body: { messages: MessageBodyShape[] } }>(
      `${base}/messages/batch`,
      {
        bodyLimit: MAX_BATCH_BYTES,
        config: { allowNul: true },
        preValidation: adminOnly,
        schema: {
          tags: ['messages'],
          body: Type.Object(
            { messages: Type.Array(MessageBody, { minItems: 1, maxItems: 1000 }) },
            { additionalProperties: false },
          ),
          response: { 202: Type.Object({ data: Type.Array(Published) }), ...errorResponses },
        },
      },
      async (req, reply) => {
        const tenantId = await tenantScope(ctx, req);
        const results = await publish(ctx, tenantId, req.body.messages, null, 'messages');
        return reply.code(202).send({ data: results.map((r) => publishedJson(r.message)) });
      },
    );

    app.get<{
      Querystring: { limit: number; cursor?: string; type?: string; since?: string; until?: string };
    }>(
      `${base}/messages`,
      {
        schema: {
          tags: ['messages'],
          querystring: Type.Object(
            {
              ...ListQuery,
              type: Type.Optional(Type.String({ maxLength: 128 })),
              since: Type.Optional(IsoTime),
              until: Type.Optional(IsoTime),
            },
            { additionalProperties: false },
          ),
          response: { 200: listOf(MessageJson), ...errorResponses },
        },
      },
      async (req) => {
        const tenantId = await tenantScope(ctx, req);
        const { limit, cursor, type, since, until } = req.query;
        const page = await ctx.store.listMessages(
          tenantId,
          {
            type,
            since: since === undefined ? undefined : Date.parse(since),
            until: until === undefined ? undefined : Date.parse(until),
          },
          { limit, cursor: cursor ?? null },
        );
        return pageJson(page, messageJson);
      },
    );

    app.get<{ Params: { id: string } }>(
      `${base}/messages/:id`,
      { schema: { tags: ['messages'], params: IdParams } },
      async (req) => {
        const tenantId = await tenantScope(ctx, req);
        const message = await ctx.store.getMessage(tenantId, req.params.id);
        if (!message) throw notFound('message');
        const deliveries = await ctx.store.listDeliveries(
          tenantId,
          { messageId: message.id },
          { limit: 250, cursor: null },
        );
        return { ...messageJson(message), deliveries: deliveries.data.map(deliveryJson) };
      },
    );

    app.post<{ Params: { id: string }; Body: { webhook_id?: string } }>(
      `${base}/messages/:id/redeliver`,
      {
        schema: {
          tags: ['messages'],
          params: IdParams,
          body: Type.Object(
            { webhook_id: Type.Optional(Type.String({ maxLength: 100 })) },
            { additionalProperties: false },
          ),
          response: { 202: Type.Object({ requeued: Type.Integer() }), ...errorResponses },
        },
      },
      async (req, reply) => {
        const tenantId = await tenantScope(ctx, req);
        if (!(await ctx.store.getMessage(tenantId, req.params.id))) throw notFound('message');
        const webhookId = req.body.webhook_id ?? null;
        if (webhookId !== null && !(await ctx.store.getWebhook(tenantId, webhookId)))
          throw notFound('webhook');
        const requeued = await ctx.store.redeliverMessage(
          tenantId,
          req.params.id,
          webhookId,
          ctx.clock.now(),
        );
        ctx.wake();
        return reply.code(202).send({ requeued });
      },
    );
  }
}

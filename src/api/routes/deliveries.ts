import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { notFound } from '../../core/errors.js';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../../core/model.js';
import { tenantScope } from '../auth.js';
import type { ApiContext } from '../context.js';
import { attemptJson, deliveryJson, pageJson } from '../presenters.js';
import { errorResponses, ListQuery, listOf, Nullable } from '../schemas.js';

export const DeliveryJson = Type.Object({
  id: Type.String(),
  message_id: Type.String(),
  webhook_id: Nullable(Type.String()),
  url: Type.String(),
  status: Type.String(),
  attempt_count: Type.Integer(),
  next_attempt_at: Nullable(Type.String()),
  last_status_code: Nullable(Type.Integer()),
  last_error: Nullable(Type.String()),
  created_at: Type.String(),
  updated_at: Type.String(),
});
const AttemptJson = Type.Object({
  number: Type.Integer(),
  started_at: Type.String(),
  duration_ms: Type.Integer(),
  status_code: Nullable(Type.Integer()),
  response_body: Nullable(Type.String()),
  error: Nullable(Type.String()),
});

export function deliveryRoutes(app: FastifyInstance, ctx: ApiContext): void {
  for (const base of ['/v1', '/v1/tenants/:tid']) {
    app.get<{
      Querystring: {
        limit: number;
        cursor?: string;
        webhook_id?: string;
        message_id?: string;
        status?: DeliveryStatus;
      };
    }>(
      `${base}/deliveries`,
      {
        schema: {
          tags: ['deliveries'],
          querystring: Type.Object(
            {
              ...ListQuery,
              webhook_id: Type.Optional(Type.String({ maxLength: 100 })),
              message_id: Type.Optional(Type.String({ maxLength: 200 })),
              status: Type.Optional(Type.Union(DELIVERY_STATUSES.map((s) => Type.Literal(s)))),
            },
            { additionalProperties: false },
          ),
          response: { 200: listOf(DeliveryJson), ...errorResponses },
        },
      },
      async (req) => {
        const tenantId = await tenantScope(ctx, req);
        const { limit, cursor, webhook_id, message_id, status } = req.query;
        const page = await ctx.store.listDeliveries(
          tenantId,
          { webhookId: webhook_id, messageId: message_id, status },
          { limit, cursor: cursor ?? null },
        );
        return pageJson(page, deliveryJson);
      },
    );

    app.get<{ Params: { id: string } }>(
      `${base}/deliveries/:id`,
      {
        schema: {
          tags: ['deliveries'],
          params: Type.Object({ id: Type.String({ maxLength: 100 }) }),
          response: {
            200: Type.Object({ ...DeliveryJson.properties, attempts: Type.Array(AttemptJson) }),
            ...errorResponses,
          },
        },
      },
      async (req) => {
        const tenantId = await tenantScope(ctx, req);
        const delivery = await ctx.store.getDelivery(tenantId, req.params.id);
        if (!delivery) throw notFound('delivery');
        const attempts = await ctx.store.listAttempts(tenantId, delivery.id);
        return { ...deliveryJson(delivery), attempts: attempts.map(attemptJson) };
      },
    );
  }
}

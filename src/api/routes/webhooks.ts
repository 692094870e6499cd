import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { invalid, notFound } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import {
  WEBHOOK_STATUSES,
  type Webhook,
  type WebhookSettings,
  type WebhookStatus,
} from '../../core/model.js';
import { generateSecret } from '../../core/secrets.js';
import { tenantScope } from '../auth.js';
import type { ApiContext } from '../context.js';
import { pageJson, webhookJson } from '../presenters.js';
import { AnyJson, errorResponses, ListQuery, listOf, Nullable } from '../schemas.js';
import {
  CreateWebhookBody,
  checkSecret,
  UpdateWebhookBody,
  type WebhookBody,
  webhookSettingsFrom,
} from '../webhook-input.js';
import { ROTATION_OVERLAP_MS } from './callback-secret.js';

const StatsJson = Type.Object({
  last_success_at: Nullable(Type.String()),
  last_failure_at: Nullable(Type.String()),
  failing_since: Nullable(Type.String()),
});
export const WebhookJson = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  secret: Type.Optional(Type.String()),
  description: Nullable(Type.String()),
  auth: Nullable(Type.Object({ username: Type.String() })),
  headers: Type.Record(Type.String(), Type.String()),
  timeout_ms: Type.Integer(),
  rate_limit_per_sec: Nullable(Type.Integer()),
  retry_schedule: Nullable(Type.Array(Type.Integer())),
  signature_header: Nullable(Type.String()),
  metadata: Type.Record(Type.String(), AnyJson),
  status: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
  stats: StatsJson,
});
const SecretJson = Type.Object({ secret: Type.String() });
const IdParams = Type.Object({ id: Type.String({ maxLength: 100 }) });

type IdRoute = { Params: { id: string } };

export async function loadWebhook(ctx: ApiContext, tenantId: string, id: string): Promise<Webhook> {
  const webhook = await ctx.store.getWebhook(tenantId, id);
  if (!webhook) throw notFound('webhook');
  return webhook;
}

export function webhookRoutes(app: FastifyInstance, ctx: ApiContext): void {
  for (const base of ['/v1', '/v1/tenants/:tid']) {
    app.post<{ Body: WebhookBody }>(
      `${base}/webhooks`,
      {
        schema: {
          tags: ['webhooks'],
          body: CreateWebhookBody,
          response: { 201: WebhookJson, ...errorResponses },
        },
      },
      async (req, reply) => {
        const tenantId = await tenantScope(ctx, req);
        const settings = (await webhookSettingsFrom(ctx, req.body, true)) as WebhookSettings;
        const secret = req.body.secret ?? generateSecret();
        checkSecret(secret);
        const now = ctx.clock.now();
        const webhook: Webhook = {
          ...settings,
          id: newId('wh'),
          tenantId,
          secret: ctx.box.seal(secret),
          secretPrev: null,
          secretPrevUntil: null,
          status: 'ACTIVE',
          lastSuccessAt: null,
          lastFailureAt: null,
          failingSince: null,
          createdAt: now,
          updatedAt: now,
        };
        await ctx.store.createWebhook(webhook);
        return reply.code(201).send({ ...webhookJson(webhook), secret });
      },
    );

    app.get<{ Querystring: { limit: number; cursor?: string; status?: WebhookStatus } }>(
      `${base}/webhooks`,
      {
        schema: {
          tags: ['webhooks'],
          querystring: Type.Object(
            { ...ListQuery, status: Type.Optional(Type.Union(WEBHOOK_STATUSES.map((s) => Type.Literal(s)))) },
            { additionalProperties: false },
          ),
          response: { 200: listOf(WebhookJson), ...errorResponses },
        },
      },
      async (req) => {
        const tenantId = await tenantScope(ctx, req);
        const { limit, cursor, status } = req.query;
        return pageJson(
          await ctx.store.listWebhooks(tenantId, { status }, { limit, cursor: cursor ?? null }),
          webhookJson,
        );
      },
    );

    app.get<IdRoute>(
      `${base}/webhooks/:id`,
      { schema: { tags: ['webhooks'], params: IdParams, response: { 200: WebhookJson, ...errorResponses } } },
      async (req) => webhookJson(await loadWebhook(ctx, await tenantScope(ctx, req), req.params.id)),
    );

    app.patch<IdRoute & { Body: WebhookBody }>(
      `${base}/webhooks/:id`,
      {
        schema: {
          tags: ['webhooks'],
          params: IdParams,
          body: UpdateWebhookBody,
          response: { 200: WebhookJson, ...errorResponses },
        },
      },
      async (req) => {
        const tenantId = await tenantScope(ctx, req);
        const current = await loadWebhook(ctx, tenantId, req.params.id);
        const { status, ...rest } = req.body;
        if (status !== undefined && status !== 'ACTIVE' && status !== 'DISABLED') {
          throw invalid('status: must be "ACTIVE" or "DISABLED" (SUSPENDED is set by the server)');
        }
        const patch: Partial<Webhook> = await webhookSettingsFrom(ctx, rest, false, current);
        const now = ctx.clock.now();
        let updated = await ctx.store.updateWebhook(tenantId, current.id, patch, now);
        if (status !== undefined && status !== current.status) {
          updated = await ctx.store.setWebhookStatus(tenantId, current.id, status, now);
          if (status === 'ACTIVE') ctx.wake();
        }
        if (!updated) throw notFound('webhook');
        return webhookJson(updated);
      },
    );

    app.delete<IdRoute>(
      `${base}/webhooks/:id`,
      { schema: { tags: ['webhooks'], params: IdParams, response: errorResponses } },
      async (req, reply) => {
        const tenantId = await tenantScope(ctx, req);
        if (!(await ctx.store.deleteWebhook(tenantId, req.params.id, ctx.clock.now())))
          throw notFound('webhook');
        return reply.code(204).send();
      },
    );

    app.get<IdRoute>(
      `${base}/webhooks/:id/secret`,
      { schema: { tags: ['webhooks'], params: IdParams, response: { 200: SecretJson, ...errorResponses } } },
      async (req) => {
        const webhook = await loadWebhook(ctx, await tenantScope(ctx, req), req.params.id);
        return { secret: ctx.box.open(webhook.secret) };
      },
    );

    app.post<IdRoute & { Body: { secret?: string } | undefined }>(
      `${base}/webhooks/:id/rotate-secret`,
      {
        schema: {
          tags: ['webhooks'],
          params: IdParams,
          body: Type.Optional(
            Type.Object(
              { secret: Type.Optional(Type.String({ maxLength: 200 })) },
              { additionalProperties: false },
            ),
          ),
          response: { 200: SecretJson, ...errorResponses },
        },
      },
      async (req) => {
        const tenantId = await tenantScope(ctx, req);
        const current = await loadWebhook(ctx, tenantId, req.params.id);
        const secret = req.body?.secret ?? generateSecret();
        checkSecret(secret);
        const now = ctx.clock.now();
        await ctx.store.updateWebhook(
          tenantId,
          current.id,
          {
            secret: ctx.box.seal(secret),
            secretPrev: current.secret,
            secretPrevUntil: now + ROTATION_OVERLAP_MS,
          },
          now,
        );
        return { secret };
      },
    );
  }
}

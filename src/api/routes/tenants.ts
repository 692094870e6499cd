import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { conflict, notFound } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { DEFAULT_TENANT, type Tenant } from '../../core/model.js';
import { generateSecret } from '../../core/secrets.js';
import { adminOnly } from '../auth.js';
import type { ApiContext } from '../context.js';
import { pageJson, tenantJson } from '../presenters.js';
import { errorResponses, ListQuery, listOf, TenantIdParam, Text } from '../schemas.js';

const TenantJson = Type.Object({
  id: Type.String(),
  name: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
});
const Params = Type.Object({ tid: Type.String() });

export function newTenant(ctx: ApiContext, id: string, name: string): Tenant {
  const now = ctx.clock.now();
  return {
    id,
    name,
    callbackSecret: ctx.box.seal(generateSecret()),
    callbackSecretPrev: null,
    callbackSecretPrevUntil: null,
    createdAt: now,
    updatedAt: now,
  };
}

export function tenantRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post<{ Body: { id?: string; name: string } }>(
    '/v1/tenants',
    {
      preValidation: adminOnly,
      schema: {
        tags: ['tenants'],
        body: Type.Object(
          { id: Type.Optional(TenantIdParam), name: Text(200, 1) },
          { additionalProperties: false },
        ),
        response: { 201: TenantJson, ...errorResponses },
      },
    },
    async (req, reply) => {
      const tenant = newTenant(ctx, req.body.id ?? newId('tn'), req.body.name);
      if (!(await ctx.store.createTenant(tenant))) throw conflict(`id: tenant "${tenant.id}" already exists`);
      return reply.code(201).send(tenantJson(tenant));
    },
  );

  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/v1/tenants',
    {
      preValidation: adminOnly,
      schema: {
        tags: ['tenants'],
        querystring: Type.Object(ListQuery, { additionalProperties: false }),
        response: { 200: listOf(TenantJson), ...errorResponses },
      },
    },
    async (req) => {
      const page = await ctx.store.listTenants({ limit: req.query.limit, cursor: req.query.cursor ?? null });
      return pageJson(page, tenantJson);
    },
  );

  app.get<{ Params: { tid: string } }>(
    '/v1/tenants/:tid',
    {
      preValidation: adminOnly,
      schema: { tags: ['tenants'], params: Params, response: { 200: TenantJson, ...errorResponses } },
    },
    async (req) => {
      const tenant = await ctx.store.getTenant(req.params.tid);
      if (!tenant) throw notFound('tenant');
      return tenantJson(tenant);
    },
  );

  app.patch<{ Params: { tid: string }; Body: { name?: string } }>(
    '/v1/tenants/:tid',
    {
      preValidation: adminOnly,
      schema: {
        tags: ['tenants'],
        params: Params,
        body: Type.Object({ name: Type.Optional(Text(200, 1)) }, { additionalProperties: false }),
        response: { 200: TenantJson, ...errorResponses },
      },
    },
    async (req) => {
      const tenant = await ctx.store.updateTenant(req.params.tid, { name: req.body.name }, ctx.clock.now());
      if (!tenant) throw notFound('tenant');
      return tenantJson(tenant);
    },
  );

  app.delete<{ Params: { tid: string } }>(
    '/v1/tenants/:tid',
    { preValidation: adminOnly, schema: { tags: ['tenants'], params: Params, response: errorResponses } },
    async (req, reply) => {
      if (req.params.tid === DEFAULT_TENANT) throw conflict('tid: the default tenant cannot be deleted');
      if (!(await ctx.store.deleteTenant(req.params.tid))) throw notFound('tenant');
      return reply.code(204).send();
    },
  );
}

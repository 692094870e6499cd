import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { generateApiKey, hashApiKey } from '../../core/api-keys.js';
import { iso } from '../../core/clock.js';
import { notFound } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { adminOnly } from '../auth.js';
import type { ApiContext } from '../context.js';
import { errorResponses, Nullable, Text } from '../schemas.js';

const KeyJson = Type.Object({
  id: Type.String(),
  key: Type.String(),
  tenant_id: Type.String(),
  name: Nullable(Type.String()),
  created_at: Type.String(),
});

export function keyRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post<{ Params: { tid: string }; Body: { name?: string | null } | undefined }>(
    '/v1/tenants/:tid/keys',
    {
      preValidation: adminOnly,
      schema: {
        tags: ['keys'],
        params: Type.Object({ tid: Type.String() }),
        body: Type.Optional(
          Type.Object({ name: Type.Optional(Nullable(Text(200))) }, { additionalProperties: false }),
        ),
        response: { 201: KeyJson, ...errorResponses },
      },
    },
    async (req, reply) => {
      if (!(await ctx.store.getTenant(req.params.tid))) throw notFound('tenant');
      const key = generateApiKey('tenant');
      const record = {
        id: newId('key'),
        tenantId: req.params.tid,
        name: req.body?.name ?? null,
        keyHash: hashApiKey(key),
        createdAt: ctx.clock.now(),
      };
      await ctx.store.createApiKey(record);
      return reply.code(201).send({
        id: record.id,
        key,
        tenant_id: record.tenantId,
        name: record.name,
        created_at: iso(record.createdAt),
      });
    },
  );

  app.delete<{ Params: { tid: string; key_id: string } }>(
    '/v1/tenants/:tid/keys/:key_id',
    {
      preValidation: adminOnly,
      schema: {
        tags: ['keys'],
        params: Type.Object({ tid: Type.String(), key_id: Type.String() }),
        response: errorResponses,
      },
    },
    async (req, reply) => {
      if (!(await ctx.store.deleteApiKey(req.params.tid, req.params.key_id))) throw notFound('key');
      return reply.code(204).send();
    },
  );
}

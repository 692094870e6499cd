import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { notFound } from '../../core/errors.js';
import { generateSecret } from '../../core/secrets.js';
import { tenantScope } from '../auth.js';
import type { ApiContext } from '../context.js';
import { errorResponses } from '../schemas.js';

export const ROTATION_OVERLAP_MS = 24 * 3_600_000;
const SecretJson = Type.Object({ secret: Type.String() });

/** The tenant's callback secret signs `callback_url` deliveries. */
export function callbackSecretRoutes(app: FastifyInstance, ctx: ApiContext): void {
  for (const base of ['/v1', '/v1/tenants/:tid']) {
    app.get(
      `${base}/callback-secret`,
      { schema: { tags: ['tenants'], response: { 200: SecretJson, ...errorResponses } } },
      async (req) => {
        const tenant = await ctx.store.getTenant(await tenantScope(ctx, req));
        if (!tenant) throw notFound('tenant');
        return { secret: ctx.box.open(tenant.callbackSecret) };
      },
    );

    app.post(
      `${base}/callback-secret/rotate`,
      { schema: { tags: ['tenants'], response: { 200: SecretJson, ...errorResponses } } },
      async (req) => {
        const tid = await tenantScope(ctx, req);
        const tenant = await ctx.store.getTenant(tid);
        if (!tenant) throw notFound('tenant');
        const secret = generateSecret();
        const now = ctx.clock.now();
        await ctx.store.updateTenant(
          tid,
          {
            callbackSecret: ctx.box.seal(secret),
            callbackSecretPrev: tenant.callbackSecret,
            callbackSecretPrevUntil: now + ROTATION_OVERLAP_MS,
          },
          now,
        );
        return { secret };
      },
    );
  }
}

import type { FastifyRequest } from 'fastify';
import { hashApiKey, sameHash } from '../core/api-keys.js';
import { ApiError, forbidden, notFound } from '../core/errors.js';
import { DEFAULT_TENANT } from '../core/model.js';
import type { ApiContext } from './context.js';

export type Principal = { kind: 'admin' } | { kind: 'tenant'; tenantId: string; keyId: string };

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const BEARER_RE = /^Bearer ([\x21-\x7e]{1,512})$/;

/** onRequest hook for /v1: every route there needs a valid key. */
export async function authenticate(ctx: ApiContext, req: FastifyRequest): Promise<void> {
  const header = req.headers.authorization;
  const m = header ? BEARER_RE.exec(header) : null;
  if (!m?.[1]) throw new ApiError('unauthorized', 'authorization: expected "Bearer <api key>"');
  const hash = hashApiKey(m[1]);
  if (sameHash(hash, ctx.adminKeyHash)) {
    ctx.rateLimiter?.check(hash);
    req.principal = { kind: 'admin' };
    return;
  }
  const key = await ctx.store.findApiKeyByHash(hash);
  if (!key) throw new ApiError('unauthorized', 'authorization: unknown or revoked API key');
  ctx.rateLimiter?.check(hash);
  req.principal = { kind: 'tenant', tenantId: key.tenantId, keyId: key.id };
  // Another tenant's path is 404 before anything else (body validation included) looks at the
  // request: the answer must be the same whatever the body, so nothing is learnt about that tenant.
  const tid = pathTenant(req);
  if (tid !== undefined && tid !== key.tenantId) throw notFound('tenant');
}

function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new ApiError('unauthorized', 'authorization: missing API key');
  return req.principal;
}

function pathTenant(req: FastifyRequest): string | undefined {
  return (req.params as { tid?: string } | undefined)?.tid;
}

/**
 * The tenant a tenant-resource route acts on: `/v1/tenants/{tid}/…` or the short form (the key's
 * own tenant, `default` for the admin key). Another tenant's path is 404 for a tenant key, so
 * keys cannot even learn which tenants exist.
 */
export async function tenantScope(ctx: ApiContext, req: FastifyRequest): Promise<string> {
  const who = principalOf(req);
  const tid = pathTenant(req);
  if (who.kind === 'tenant') {
    if (tid !== undefined && tid !== who.tenantId) throw notFound('tenant');
    return who.tenantId;
  }
  if (tid === undefined) return DEFAULT_TENANT;
  if (!(await ctx.store.getTenant(tid))) throw notFound('tenant');
  return tid;
}

/** Admin-only routes: a tenant key gets 403 on its own tenant's path and 404 on any other. */
export function requireAdmin(req: FastifyRequest): void {
  const who = principalOf(req);
  if (who.kind === 'admin') return;
  const tid = pathTenant(req);
  if (tid !== undefined && tid !== who.tenantId) throw notFound('tenant');
  throw forbidden('this route needs the admin key');
}

/**
 * `requireAdmin` as a route's preValidation hook: a tenant key gets its 403 before the body is
 * validated, so the answer does not depend on what it sent.
 */
export async function adminOnly(req: FastifyRequest): Promise<void> {
  requireAdmin(req);
}

import swagger from '@fastify/swagger';
import { Ajv } from 'ajv';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { addFormats } from '../core/ajv-formats.js';
import { ApiError } from '../core/errors.js';
import { authenticate } from './auth.js';
import type { ApiContext } from './context.js';
import { clientError, frameworkError, installErrorHandling } from './error-handler.js';
import { findNul, parseJsonBody } from './json-body.js';
import { createMetrics, recordHttpMetrics } from './metrics.js';
import { callbackSecretRoutes } from './routes/callback-secret.js';
import { deliveryRoutes } from './routes/deliveries.js';
import { eventTypeRoutes } from './routes/event-types.js';
import { keyRoutes } from './routes/keys.js';
import { messageRoutes } from './routes/messages.js';
import { opsRoutes } from './routes/ops.js';
import { tenantRoutes } from './routes/tenants.js';
import { webhookActionRoutes } from './routes/webhook-actions.js';
import { webhookRoutes } from './routes/webhooks.js';
import { installSecurityHeaders } from './security-headers.js';

export const MAX_BODY_BYTES = 256 * 1024;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Message payloads may carry NUL inside JSON strings; management fields may not. */
    allowNul?: boolean;
  }
}

export interface AppOptions {
  logLevel: string;
  /** `worker` processes serve only the operational routes. */
  apiRoutes: boolean;
  version: string;
}

function validatorFor(coerce: boolean): Ajv {
  // Bodies are taken as sent (a "5000" is not 5000); query strings are text and need coercion.
  const ajv = new Ajv({
    coerceTypes: coerce,
    useDefaults: true,
    removeAdditional: false,
    allErrors: false,
    strict: false,
  });
  addFormats(ajv);
  return ajv;
}

export async function buildApp(ctx: ApiContext, opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: opts.logLevel, redact: ['req.headers.authorization'] },
    bodyLimit: MAX_BODY_BYTES,
    // Per-request lines only when asked for: at 1,000 publishes/s they would drown everything else.
    logController: new LogController({
      disableRequestLogging: opts.logLevel !== 'debug' && opts.logLevel !== 'trace',
    }),
    return503OnClosing: true,
    frameworkErrors: frameworkError,
    clientErrorHandler: clientError,
  });
  const bodyAjv = validatorFor(false);
  const otherAjv = validatorFor(true);
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? bodyAjv : otherAjv).compile(schema),
  );
  app.decorateRequest('principal', null);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, text, done) => {
    try {
      const value = parseJsonBody(text as string);
      if (!req.routeOptions.config?.allowNul) {
        const at = findNul(value);
        if (at) throw new ApiError('validation_failed', `${at}: must not contain NUL characters`);
      }
      done(null, value);
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  // Routes whose body is optional (rotate-secret, keys, test) see {} rather than "body: must be object".
  app.addHook('preValidation', async (req) => {
    if (req.body === undefined && req.method !== 'GET' && req.method !== 'DELETE') req.body = {};
  });

  installErrorHandling(app);
  installSecurityHeaders(app);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Hookline API', version: opts.version },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  const metrics = createMetrics();
  recordHttpMetrics(app, metrics);
  opsRoutes(app, ctx, metrics);

  if (opts.apiRoutes) {
    app.addHook('onRequest', async (req) => {
      if (req.url.startsWith('/v1/') || req.url === '/v1') await authenticate(ctx, req);
    });
    tenantRoutes(app, ctx);
    keyRoutes(app, ctx);
    callbackSecretRoutes(app, ctx);
    eventTypeRoutes(app, ctx);
    webhookRoutes(app, ctx);
    webhookActionRoutes(app, ctx);
    messageRoutes(app, ctx);
    deliveryRoutes(app, ctx);
  }
  return app;
}

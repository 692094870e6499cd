import type { FastifyInstance } from 'fastify';

/** Sent on every answer. The API serves JSON and text only, so nothing may load, frame or sniff it. */
const HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};
const API_CSP = "default-src 'none'; frame-ancestors 'none'";

export function installSecurityHeaders(app: FastifyInstance): void {
  // onSend sees every answer: routes, errors, 404s. A route that serves a page may set its own CSP.
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.headers(HEADERS);
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', API_CSP);
    return payload;
  });
}

import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, ERROR_STATUS, type ErrorCode } from '../core/errors.js';
import { validationMessage } from './validation-message.js';

function body(code: ErrorCode, message: string) {
  return { error: { code, message } };
}

/** Fastify's own error codes mapped onto the contract's. */
const FASTIFY_CODES: Record<string, [ErrorCode, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['payload_too_large', 'body: larger than this route accepts'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['unsupported_media_type', 'content-type: must be application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['invalid_json', 'content-length: does not match the body'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['invalid_json', 'body: empty, expected a JSON document'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['invalid_json', 'body: malformed JSON'],
};

/**
 * Fastify's `frameworkErrors` option: errors raised by its router before any route runs (a path
 * parameter over its length limit, a malformed %-escape). Without it they answer 414/400 in
 * Fastify's own shape; no resource has such an id, so this is the contract's 404.
 */
export function frameworkError(_err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const path = (req.raw.url ?? '').split('?')[0] ?? '';
  reply.code(404).send(body('not_found', `route ${req.method} ${path.slice(0, 200)} not found`));
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof ApiError) {
      return reply.code(err.status).headers(err.headers).send(body(err.code, err.message));
    }
    if (err.validation) {
      return reply
        .code(422)
        .send(
          body(
            'validation_failed',
            validationMessage(err.validation as never, err.validationContext ?? 'body'),
          ),
        );
    }
    const mapped = err.code ? FASTIFY_CODES[err.code] : undefined;
    if (mapped) return reply.code(ERROR_STATUS[mapped[0]]).send(body(mapped[0], mapped[1]));
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send(body('invalid_json', `request: ${err.message}`));
    }
    req.log.error({ err }, 'unhandled error');
    return reply.code(500).send(body('internal', 'internal error; the server log has the details'));
  });

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(body('not_found', `route ${req.method} ${req.url.split('?')[0]} not found`));
  });
}

/**
 * Fastify's `clientErrorHandler` option: a request Node's HTTP parser rejects before Fastify sees
 * it (headers or URL over 16 KiB, malformed HTTP, a request timeout). Fastify's default answers in
 * its own shape; this keeps the status Node chose and answers in the contract's.
 */
export function clientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, label, code, message]: [number, string, ErrorCode, string] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', 'invalid_json', 'request: not received in time']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [
            431,
            'Request Header Fields Too Large',
            'payload_too_large',
            'request: URL and headers over 16 KiB',
          ]
        : [400, 'Bad Request', 'invalid_json', 'request: malformed HTTP'];
  const json = JSON.stringify(body(code, message));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${label}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(json)}\r\nX-Content-Type-Options: nosniff\r\n` +
        `Connection: close\r\n\r\n${json}`,
    );
  }
  socket.destroy(err);
}

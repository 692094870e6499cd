import { type RequestSpec, webhookHeaders } from '../core/webhook-request.js';
import { classifyError } from './attempt-errors.js';
import { type ClientOptions, type Handle, Http1Client, type Target } from './http1-client.js';

export const RESPONSE_BODY_KEEP = 4096;
/** Bytes read from a response before the connection is dropped: enough for any useful answer. */
const RESPONSE_READ_CAP = 64 * 1024;

export interface SendResult {
  statusCode: number | null;
  /** First 4096 bytes of the response body, as text. */
  responseBody: string | null;
  /** null for a 2xx; `redirect`, `http_error`, or a network code. */
  error: string | null;
  durationMs: number;
  retryAfter: string | undefined;
}

export interface Sender {
  /** POSTs `spec.payload` to `url` with the headers (signature included) that `spec` makes. */
  send(url: string, spec: RequestSpec, timeoutMs: number): Promise<SendResult>;
  close(): Promise<void>;
}

function outcome(statusCode: number): string | null {
  if (statusCode >= 200 && statusCode < 300) return null;
  if (statusCode >= 300 && statusCode < 400) return 'redirect';
  return 'http_error';
}

const targets = new Map<string, Target>();

/** Where a webhook URL points, parsed once per distinct URL. */
function target(url: string): Target {
  let t = targets.get(url);
  if (!t) {
    const u = new URL(url);
    const https = u.protocol === 'https:';
    if (!https && u.protocol !== 'http:') throw new Error(`unsupported protocol ${u.protocol}`);
    t = {
      origin: u.origin,
      protocol: u.protocol,
      hostname: u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname,
      host: u.host,
      port: u.port || (https ? '443' : '80'),
      path: `${u.pathname}${u.search}`,
    };
    if (targets.size >= 10_000) targets.clear();
    targets.set(url, t);
  }
  return t;
}

/**
 * The whole request, written with one call. Header names and values were checked when the webhook
 * was saved (tokens; Latin-1 without controls), so the head goes as Latin-1 bytes; as a string
 * when it is all ASCII (the usual case: one encoding pass, and the cheapest write).
 */
function requestBytes(t: Target, headers: Record<string, string>, body: string): string | Buffer {
  const bodyBytes = Buffer.byteLength(body);
  let head = `POST ${t.path} HTTP/1.1\r\nhost: ${t.host}\r\ncontent-length: ${bodyBytes}\r\n`;
  for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
  head += '\r\n';
  if (!NON_ASCII.test(head)) return head + body;
  const bytes = Buffer.allocUnsafe(head.length + bodyBytes);
  bytes.write(head, 0, 'latin1');
  bytes.write(body, head.length, 'utf8');
  return bytes;
}

const NON_ASCII = /[\u0080-\uffff]/;

/**
 * One POST. The status decides the outcome; a body cut short (by the timeout, a reset or the
 * read cap) does not change it.
 */
function post(
  client: Http1Client,
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<SendResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    let statusCode: number | null = null;
    let retryAfter: string | undefined;
    const kept: Buffer[] = [];
    let keptBytes = 0;
    let read = 0;
    let handle: Handle | null = null;
    let done = false;
    const finish = (error: string | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({
        statusCode,
        responseBody:
          statusCode === null
            ? null
            : Buffer.concat(kept, keptBytes).subarray(0, RESPONSE_BODY_KEEP).toString('utf8'),
        error,
        durationMs: Math.round(performance.now() - started),
        retryAfter,
      });
    };
    // Bounds the whole exchange, connect to last byte read.
    const timer = setTimeout(() => {
      handle?.abort();
      finish(statusCode === null ? 'timeout' : outcome(statusCode));
    }, timeoutMs);
    // The socket keeps the process alive while the exchange lasts; the timer alone must not.
    timer.unref();
    let bytes: string | Buffer;
    let t: Target;
    try {
      t = target(url);
      bytes = requestBytes(t, headers, body);
    } catch (err) {
      finish(classifyError(err));
      return;
    }
    handle = client.request(t, bytes, {
      onHead(head) {
        statusCode = head.statusCode;
        retryAfter = head.retryAfter;
      },
      onData(chunk) {
        read += chunk.length;
        if (keptBytes < RESPONSE_BODY_KEEP) {
          // A copy: the chunk may be a view into a larger read that would otherwise stay alive.
          kept.push(Buffer.from(chunk.subarray(0, RESPONSE_BODY_KEEP - keptBytes)));
          keptBytes += Math.min(chunk.length, RESPONSE_BODY_KEEP - keptBytes);
        }
        if (read >= RESPONSE_READ_CAP) {
          // Enough of an endless body: drop the connection rather than read on.
          handle?.abort();
          finish(outcome(statusCode ?? 0));
        }
      },
      onEnd() {
        finish(outcome(statusCode ?? 0));
      },
      onError(err) {
        if (statusCode !== null) finish(outcome(statusCode));
        else finish(classifyError(err));
      },
    });
  });
}

/** Keep-alive HTTP/1.1 connections; `timeoutMs` bounds the whole exchange, connect to last byte read. */
export function createSender(options: ClientOptions = {}): Sender {
  const client = new Http1Client(options);
  return {
    send: (url, spec, timeoutMs) => post(client, url, webhookHeaders(spec), spec.payload, timeoutMs),
    // Shutdown comes after the dispatcher's grace period: whatever is still in flight is cut off
    // (its lease makes it go again after the restart), so a hanging receiver cannot hold the process.
    close: async () => client.close(),
  };
}

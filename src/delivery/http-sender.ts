import { type RequestSpec, webhookHeaders } from '../core/webhook-request.js';
import { unbracket } from './address-guard.js';
import { classifyError } from './attempt-errors.js';
import { type ClientOptions, type Exchange, type Handle, Http1Client, type Target } from './http1-client.js';
import type { ResponseHead } from './http1-response.js';

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
      hostname: unbracket(u.hostname),
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
 * One POST: the client's exchange, its timeout and its result. One object per request rather than
 * a closure per callback (an exchange's objects were the largest share of what a loaded server
 * promoted out of V8's young generation). The status decides the outcome; a body cut short (by the
 * timeout, a reset or the read cap) does not change it.
 */
class Post implements Exchange {
  readonly #started = performance.now();
  readonly #resolve: (result: SendResult) => void;
  readonly #timer: NodeJS.Timeout;
  #statusCode: number | null = null;
  #retryAfter: string | undefined;
  /** The first RESPONSE_BODY_KEEP bytes of the body, copied out of the socket's reads. */
  #kept: Buffer[] = [];
  #keptBytes = 0;
  #read = 0;
  handle: Handle | null = null;
  #done = false;

  constructor(resolve: (result: SendResult) => void, timeoutMs: number) {
    this.#resolve = resolve;
    // Bounds the whole exchange, connect to last byte read. The socket keeps the process alive
    // while the exchange lasts; the timer alone must not.
    this.#timer = setTimeout(timedOut, timeoutMs, this);
    this.#timer.unref();
  }

  onTimeout(): void {
    this.handle?.abort();
    this.finish(this.#statusCode === null ? 'timeout' : outcome(this.#statusCode));
  }

  onHead(head: ResponseHead): void {
    this.#statusCode = head.statusCode;
    this.#retryAfter = head.retryAfter;
  }

  onData(chunk: Buffer): void {
    this.#read += chunk.length;
    if (this.#keptBytes < RESPONSE_BODY_KEEP) {
      // A copy: the chunk may be a view into a larger read that would otherwise stay alive.
      const part = Buffer.from(chunk.subarray(0, RESPONSE_BODY_KEEP - this.#keptBytes));
      this.#kept.push(part);
      this.#keptBytes += part.length;
    }
    if (this.#read >= RESPONSE_READ_CAP) {
      // Enough of an endless body: drop the connection rather than read on.
      this.handle?.abort();
      this.finish(outcome(this.#statusCode ?? 0));
    }
  }

  onEnd(): void {
    this.finish(outcome(this.#statusCode ?? 0));
  }

  onError(err: Error): void {
    this.finish(this.#statusCode !== null ? outcome(this.#statusCode) : classifyError(err));
  }

  finish(error: string | null): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#timer);
    const kept = this.#kept;
    const body = kept.length === 1 ? (kept[0] as Buffer) : Buffer.concat(kept, this.#keptBytes);
    this.#resolve({
      statusCode: this.#statusCode,
      responseBody: this.#statusCode === null ? null : body.toString('utf8'),
      error,
      durationMs: Math.round(performance.now() - this.#started),
      retryAfter: this.#retryAfter,
    });
  }
}

function timedOut(post: Post): void {
  post.onTimeout();
}

function post(
  client: Http1Client,
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<SendResult> {
  return new Promise((resolve) => {
    const exchange = new Post(resolve, timeoutMs);
    let bytes: string | Buffer;
    let t: Target;
    try {
      t = target(url);
      bytes = requestBytes(t, headers, body);
    } catch (err) {
      exchange.finish(classifyError(err));
      return;
    }
    exchange.handle = client.request(t, bytes, exchange);
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

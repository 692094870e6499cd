import { Agent, type Dispatcher } from 'undici';
import { type RequestSpec, webhookHeaders } from '../core/webhook-request.js';
import { classifyError } from './attempt-errors.js';

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

const targets = new Map<string, { origin: string; path: string }>();

/** origin and path of a webhook URL, parsed once per distinct URL. */
function target(url: string): { origin: string; path: string } {
  let t = targets.get(url);
  if (!t) {
    const u = new URL(url);
    t = { origin: u.origin, path: `${u.pathname}${u.search}` };
    if (targets.size >= 10_000) targets.clear();
    targets.set(url, t);
  }
  return t;
}

class Timeout extends Error {
  override name = 'TimeoutError';
}

/**
 * One POST through undici's dispatch API: no AbortController, response stream or async iterator
 * per request (they were a tenth of a delivery's CPU time in the throughput profile). The status
 * decides the outcome; a body cut short (by the timeout, a reset or the read cap) does not change it.
 */
function post(
  agent: Agent,
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
    let controller: Dispatcher.DispatchController | null = null;
    let timedOut = false;
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
      timedOut = true;
      controller?.abort(new Timeout('timeout'));
      finish(statusCode === null ? 'timeout' : outcome(statusCode));
    }, timeoutMs);
    // The socket keeps the process alive while the exchange lasts; the timer alone must not.
    timer.unref();
    let origin: string;
    let path: string;
    try {
      ({ origin, path } = target(url));
    } catch (err) {
      finish(classifyError(err));
      return;
    }
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (timedOut) c.abort(new Timeout('timeout'));
      },
      onResponseStart(_c, code, responseHeaders) {
        statusCode = code;
        const ra = responseHeaders['retry-after'];
        retryAfter = Array.isArray(ra) ? ra[0] : ra;
      },
      onResponseData(c, chunk) {
        read += chunk.length;
        if (keptBytes < RESPONSE_BODY_KEEP) {
          kept.push(chunk);
          keptBytes += chunk.length;
        }
        if (read >= RESPONSE_READ_CAP) {
          // Enough of an endless body: drop the connection rather than read on.
          c.abort(new Error('response read cap reached'));
          finish(outcome(statusCode ?? 0));
        }
      },
      onResponseEnd() {
        finish(outcome(statusCode ?? 0));
      },
      onResponseError(_c, err) {
        if (statusCode !== null) finish(outcome(statusCode));
        else finish(timedOut ? 'timeout' : classifyError(err));
      },
    };
    try {
      agent.dispatch(
        { origin, path, method: 'POST', headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs },
        handler,
      );
    } catch (err) {
      // A closed agent (shutdown) refuses at once, without calling the handler.
      finish(classifyError(err));
    }
  });
}

/** One keep-alive undici Agent; `timeoutMs` bounds the whole exchange, connect to last byte read. */
export function createSender(agentOptions: Agent.Options = {}): Sender {
  const agent = new Agent({
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 120_000,
    connections: 128,
    maxHeaderSize: 16 * 1024,
    ...agentOptions,
  });
  return {
    send: (url, spec, timeoutMs) => post(agent, url, webhookHeaders(spec), spec.payload, timeoutMs),
    // Shutdown comes after the dispatcher's grace period: whatever is still in flight is cut off
    // (its lease makes it go again after the restart), so a hanging receiver cannot hold the process.
    close: () => agent.destroy(),
  };
}

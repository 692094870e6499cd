import { Agent, request } from 'undici';
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
  send(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<SendResult>;
  close(): Promise<void>;
}

function outcome(statusCode: number): string | null {
  if (statusCode >= 200 && statusCode < 300) return null;
  if (statusCode >= 300 && statusCode < 400) return 'redirect';
  return 'http_error';
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
    async send(url, headers, body, timeoutMs) {
      const started = performance.now();
      const ms = () => Math.round(performance.now() - started);
      const controller = new AbortController();
      const timer = setTimeout(
        () => controller.abort(new DOMException('timeout', 'TimeoutError')),
        timeoutMs,
      );
      let statusCode: number | null = null;
      try {
        const res = await request(url, {
          dispatcher: agent,
          method: 'POST',
          headers,
          body,
          signal: controller.signal,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        });
        statusCode = res.statusCode;
        const retryAfter = res.headers['retry-after'];
        const chunks: Buffer[] = [];
        let read = 0;
        try {
          for await (const chunk of res.body as AsyncIterable<Buffer>) {
            chunks.push(chunk);
            read += chunk.length;
            if (read >= RESPONSE_READ_CAP) break;
          }
        } catch {
          // The status is the answer; a body cut short by the timeout or a reset does not change it.
        }
        if (read >= RESPONSE_READ_CAP) res.body.destroy();
        const text = Buffer.concat(chunks).subarray(0, RESPONSE_BODY_KEEP).toString('utf8');
        return {
          statusCode,
          responseBody: text,
          error: outcome(statusCode),
          durationMs: ms(),
          retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
        };
      } catch (err) {
        const error = controller.signal.aborted ? 'timeout' : classifyError(err);
        return { statusCode, responseBody: null, error, durationMs: ms(), retryAfter: undefined };
      } finally {
        clearTimeout(timer);
      }
    },
    // Shutdown comes after the dispatcher's grace period: whatever is still in flight is cut off
    // (its lease makes it go again after the restart), so a hanging receiver cannot hold the process.
    close: () => agent.destroy(),
  };
}

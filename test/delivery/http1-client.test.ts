/**
 * Hookline's HTTP/1.1 client against real servers on 127.0.0.1: what goes on the wire, when a
 * connection is reused and when not, the per-origin limit, and TLS.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildConnector } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { RequestSpec } from '../../src/core/webhook-request.js';
import { createSender, type Sender } from '../../src/delivery/http-sender.js';
import { tempDir } from '../support/temp-dir.js';

const spec = (payload: string, customHeaders: Record<string, string> = {}): RequestSpec => ({
  messageId: 'msg_1',
  payload,
  timestampSec: 1_700_000_000,
  attempt: 1,
  secrets: [],
  signatureHeaderName: null,
  basicAuth: null,
  customHeaders,
  userAgent: 'Hookline/test',
});

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

function track(sender: Sender): Sender {
  closers.push(() => sender.close());
  return sender;
}

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => {
    server.closeAllConnections?.();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

/** What the raw receiver does with a request: writes `bytes` (if any), then closes its side if `end`. */
type Answer = { bytes?: string; end?: boolean };

/** A raw receiver: reads each request (head and Content-Length body) and acts on `answer(n)`, n counting over all connections. */
async function rawReceiver(answer: (n: number) => Answer) {
  const sockets = new Set<Socket>();
  let connections = 0;
  let n = 0;
  const server = createServer((socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) return;
        const length = Number(/content-length: (\d+)/i.exec(buf.subarray(0, end).toString())?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        buf = buf.subarray(end + 4 + length);
        const a = answer(n++);
        if (a.bytes !== undefined) socket.write(a.bytes);
        if (a.end) socket.end();
      }
    });
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}/hook`,
    connections: () => connections,
    /** Closes the receiver's side of every open connection, as an idle timeout does. */
    endAll: () => {
      for (const s of sockets) s.end();
    },
  };
}

const OK_EMPTY = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';

describe('the HTTP/1.1 client', () => {
  it('sends one well-formed POST with its headers and body, and reuses the connection', async () => {
    const seen: { req: IncomingMessage; body: string }[] = [];
    let connections = 0;
    const server = createHttpServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        seen.push({ req, body });
        res.end('thanks');
      });
    });
    server.on('connection', () => connections++);
    const port = await listen(server);
    const sender = track(createSender());
    const payload = JSON.stringify({ text: 'café ✓ 😀' });
    for (let i = 0; i < 3; i++) {
      // The first with a Latin-1 header value (the head goes as Latin-1 bytes), then all-ASCII heads.
      const headers: Record<string, string> = i === 0 ? { 'x-tag': 'café' } : {};
      const r = await sender.send(`http://127.0.0.1:${port}/in/hook?x=1`, spec(payload, headers), 2000);
      expect(r).toMatchObject({ statusCode: 200, error: null, responseBody: 'thanks' });
    }
    expect(connections).toBe(1);
    const { req, body } = seen[0] as (typeof seen)[number];
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/in/hook?x=1');
    expect(req.headers.host).toBe(`127.0.0.1:${port}`);
    expect(req.headers['content-length']).toBe(String(Buffer.byteLength(payload)));
    expect(req.headers['webhook-id']).toBe('msg_1');
    expect(req.headers['x-tag']).toBe('café'); // Latin-1 bytes, as node:http reads them
    expect(body).toBe(payload);
    expect(seen.map((s) => s.body)).toEqual([payload, payload, payload]);
    expect(seen[1]?.req.headers['x-tag']).toBeUndefined();
  });

  it('opens a new connection after Connection: close, a body read to the close, or a short keep-alive', async () => {
    const answers: Answer[] = [
      { bytes: 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok' },
      { bytes: 'HTTP/1.1 200 OK\r\n\r\nuntil close', end: true },
      { bytes: 'HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nContent-Length: 0\r\n\r\n' },
      { bytes: OK_EMPTY },
    ];
    const rx = await rawReceiver((n) => answers[n] as Answer);
    const sender = track(createSender());
    const bodies = [];
    for (let i = 0; i < answers.length; i++) {
      const r = await sender.send(rx.url, spec('{}'), 2000);
      expect(r.statusCode, `request ${i}`).toBe(200);
      expect(r.durationMs, `request ${i}`).toBeLessThan(1000);
      bodies.push(r.responseBody);
    }
    expect(bodies).toEqual(['ok', 'until close', '', '']);
    // close → new; read-to-close → new; keep-alive hint of 1 s leaves 0 s once its margin is taken.
    expect(rx.connections()).toBe(4);
  }, 10_000);

  it('fails a malformed answer as invalid_response and an answer cut short as connection_reset', async () => {
    const rx = await rawReceiver((n) =>
      n === 0 ? { bytes: 'HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n' } : { end: true },
    );
    const sender = track(createSender());
    expect(await sender.send(rx.url, spec('{}'), 2000)).toMatchObject({
      statusCode: null,
      error: 'invalid_response',
    });
    expect(await sender.send(rx.url, spec('{}'), 2000)).toMatchObject({
      statusCode: null,
      error: 'connection_reset',
    });
  });

  it('uses a fresh connection when the server closed an idle one', async () => {
    const rx = await rawReceiver(() => ({ bytes: OK_EMPTY }));
    const sender = track(createSender());
    expect((await sender.send(rx.url, spec('{}'), 2000)).statusCode).toBe(200);
    rx.endAll();
    await new Promise((r) => setTimeout(r, 50));
    expect(await sender.send(rx.url, spec('{}'), 2000)).toMatchObject({ statusCode: 200, error: null });
    expect(rx.connections()).toBe(2);
  });

  it('lets the process exit while a connection is idle (built code, in a child process)', async () => {
    const server = createHttpServer((_req, res) => res.end('ok'));
    server.keepAliveTimeout = 60_000;
    const port = await listen(server);
    const sender = fileURLToPath(new URL('../../dist/delivery/http-sender.js', import.meta.url));
    const script = `
      const { createSender } = await import(${JSON.stringify(sender)});
      const spec = ${JSON.stringify(spec('{}'))};
      const r = await createSender().send('http://127.0.0.1:${port}/', spec, 2000);
      console.log(r.statusCode);`;
    const started = Date.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', script]);
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    // The server would keep the connection for 60 s; the child is done as soon as its answer is.
    const exited = once(child, 'exit').then(([code]) => code);
    let timer: NodeJS.Timeout | undefined;
    const stillRunning = new Promise((r) => {
      timer = setTimeout(() => r('still running after 5 s'), 5000);
    });
    const outcome = await Promise.race([exited, stillRunning]);
    clearTimeout(timer);
    child.kill();
    expect(outcome).toBe(0);
    expect(out.trim()).toBe('200');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('keeps to its connections per origin: requests past them wait for a free one', async () => {
    let connections = 0;
    const server = createHttpServer((_req, res) => {
      setTimeout(() => res.end('ok'), 30);
    });
    server.on('connection', () => connections++);
    const port = await listen(server);
    const sender = track(createSender({ maxPerOrigin: 2 }));
    const results = await Promise.all(
      Array.from({ length: 8 }, () => sender.send(`http://127.0.0.1:${port}/`, spec('{}'), 3000)),
    );
    expect(results.map((r) => r.statusCode)).toEqual(Array(8).fill(200));
    expect(connections).toBe(2);
  });

  it('speaks TLS: a trusted certificate is accepted, an unknown one fails as tls', async () => {
    const dir = tempDir('hookline-tls-');
    closers.push(dir.cleanup);
    const key = join(dir.path, 'key.pem');
    const cert = join(dir.path, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    const server = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_req, res) =>
      res.end('secure'),
    );
    const port = await listen(server);
    const url = `https://127.0.0.1:${port}/hook`;
    const trusting = track(createSender({ connect: buildConnector({ ca: readFileSync(cert) }) }));
    expect(await trusting.send(url, spec('{}'), 3000)).toMatchObject({
      statusCode: 200,
      responseBody: 'secure',
    });
    expect((await track(createSender()).send(url, spec('{}'), 3000)).error).toBe('tls');
  });
});

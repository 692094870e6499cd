import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/**
 * A real HTTP receiver on 127.0.0.1 whose behaviour is chosen by the path:
 *   /ok, /status/<code>, /hang, /reset, /redirect, /retry-after/<code>/<seconds>,
 *   /flaky/<n> (fails the first n requests of each webhook-id, then 200), /slow/<ms>.
 */
export class Receiver {
  readonly received: Received[] = [];
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #flakyCounts = new Map<string, number>();
  readonly #waiters: { check: () => boolean; resolve: () => void }[] = [];
  url = '';

  constructor() {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        this.received.push({
          path,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
        });
        this.#notify();
        const [, kind, a, b] = path.split('/');
        switch (kind) {
          case 'ok':
            return res.end('ok');
          case 'status':
            res.statusCode = Number(a);
            return res.end(`status ${a}`);
          case 'hang':
            return; // never answers; the socket is destroyed on close()
          case 'reset':
            return req.socket.destroy();
          case 'redirect':
            res.writeHead(302, { location: `${this.url}/ok` });
            return res.end();
          case 'retry-after':
            res.writeHead(Number(a), { 'retry-after': String(b) });
            return res.end('slow down');
          case 'flaky': {
            const key = String(req.headers['webhook-id']);
            const n = (this.#flakyCounts.get(key) ?? 0) + 1;
            this.#flakyCounts.set(key, n);
            res.statusCode = n <= Number(a) ? 500 : 200;
            return res.end(n <= Number(a) ? 'not yet' : 'ok');
          }
          case 'slow':
            setTimeout(() => res.end('ok'), Number(a));
            return;
          default:
            res.statusCode = 404;
            return res.end('no such behaviour');
        }
      });
    });
    this.#server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
  }

  async start(): Promise<this> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  /** Resolves when `check` holds; rejects after `timeoutMs` with what was received so far. */
  waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `receiver: condition not met in ${timeoutMs} ms (${this.received.length} requests received)`,
          ),
        );
      }, timeoutMs);
      this.#waiters.push({
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  #notify(): void {
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const w = this.#waiters[i];
      if (w?.check()) {
        this.#waiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    this.#server.close();
  }
}

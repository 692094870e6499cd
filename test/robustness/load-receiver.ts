import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Arrival {
  path: string;
  /** The `webhook-id` header: the message id. */
  id: string;
  /** 1 for the first request of this message id to this path, 2 for the next… */
  nth: number;
  at: number;
}

/**
 * A receiver for load tests: records every request's path, `webhook-id` and arrival time, counts
 * requests per path, and tracks the requests it has not answered yet. `delayFor(path)` is how long
 * to wait before answering, or null to never answer (the sender's timeout ends it); `statusFor`
 * picks the answer's status (200 unless told), given the path and how many times this message
 * id has arrived (1 for the first).
 */
export class LoadReceiver {
  readonly arrivals: Arrival[] = [];
  readonly ids = new Set<string>();
  readonly countByPath = new Map<string, number>();
  /** Requests received and not answered yet: how many per message id (retries may overlap). */
  readonly open = new Map<string, number>();
  readonly maxInFlightByPath = new Map<string, number>();
  readonly #inFlightByPath = new Map<string, number>();
  readonly #seen = new Map<string, number>();
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  url = '';

  constructor(
    readonly delayFor: (path: string) => number | null = () => 0,
    readonly statusFor: (path: string, nth: number) => number = () => 200,
  ) {
    this.#server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const path = req.url ?? '/';
        const id = String(req.headers['webhook-id'] ?? '');
        const nth = (this.#seen.get(`${path} ${id}`) ?? 0) + 1;
        this.#seen.set(`${path} ${id}`, nth);
        this.arrivals.push({ path, id, nth, at: performance.now() });
        this.ids.add(id);
        this.countByPath.set(path, (this.countByPath.get(path) ?? 0) + 1);
        this.open.set(id, (this.open.get(id) ?? 0) + 1);
        const inFlight = (this.#inFlightByPath.get(path) ?? 0) + 1;
        this.#inFlightByPath.set(path, inFlight);
        this.maxInFlightByPath.set(path, Math.max(this.maxInFlightByPath.get(path) ?? 0, inFlight));
        const delay = this.delayFor(path);
        if (delay === null) return; // hangs; close() destroys the socket
        const answer = () => {
          // Counted as answered before the bytes leave: the sender cannot have the answer earlier.
          this.#inFlightByPath.set(path, (this.#inFlightByPath.get(path) ?? 1) - 1);
          const n = (this.open.get(id) ?? 1) - 1;
          if (n <= 0) this.open.delete(id);
          else this.open.set(id, n);
          res.statusCode = this.statusFor(path, nth);
          res.end('ok');
        };
        if (delay <= 0) answer();
        else setTimeout(answer, delay);
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

  /** Requests received in all (retries and repeats included). */
  get total(): number {
    return this.arrivals.length;
  }

  count(path: string): number {
    return this.countByPath.get(path) ?? 0;
  }

  /** Message ids received more than once, counted once per extra receipt. */
  get duplicates(): number {
    return this.arrivals.length - this.ids.size;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

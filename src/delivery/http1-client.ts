import type { Socket } from 'node:net';
import { buildConnector } from 'undici';
import { type ResponseHead, ResponseParser, type ResponseSink } from './http1-response.js';

/**
 * Hookline's own HTTP/1.1 client for webhook POSTs: keep-alive connections per origin, one request
 * written as one buffer, the response read by a small strict parser. It replaced undici's Agent,
 * whose per-request work (request objects, header validation, its parser's calls) was the largest
 * share of the sending in bench (a) once everything ran on one thread (bench/CHANGES.md). Sockets
 * still come from undici's connector (TLS, and the address guard's checked lookup).
 */

/** Where a webhook URL points, parsed once per URL. */
export interface Target {
  /** The pool key: scheme, host and port. */
  origin: string;
  protocol: string;
  hostname: string;
  /** `Host` header value: name and port as the URL has them. */
  host: string;
  port: string;
  path: string;
}

export interface Exchange {
  onHead(head: ResponseHead): void;
  onData(chunk: Buffer): void;
  onEnd(): void;
  /** The request failed before its response was complete (not called after onEnd). */
  onError(err: Error): void;
}

export interface ClientOptions {
  connect?: buildConnector.connector;
  /** Connections per origin; requests past it wait for one. */
  maxPerOrigin?: number;
  /** How long an unused connection is kept, unless the server says less (`Keep-Alive: timeout`). */
  idleTimeoutMs?: number;
}

/** A connection closed under a request: mapped by classifyError to `connection_reset`. */
class SocketClosedError extends Error {
  readonly code = 'ECONNRESET';
}

/** A request on its way: queued, connecting, or on a connection. */
export interface Handle {
  /** Drops the request (its connection cannot carry another); the exchange is not told. */
  abort(): void;
}

interface Request extends Handle {
  /** The whole request; a string is written as UTF-8 (only its body may be non-ASCII). */
  bytes: string | Buffer;
  exchange: Exchange;
  conn: Connection | null;
  done: boolean;
}

/** Margin under the server's announced keep-alive timeout, against reusing a socket it is closing. */
const KEEP_ALIVE_MARGIN_MS = 1000;

class Connection implements ResponseSink {
  readonly socket: Socket;
  readonly #pool: OriginPool;
  #req: Request | null = null;
  #parser: ResponseParser | null = null;
  idleSince = 0;
  idleMs: number;

  constructor(pool: OriginPool, socket: Socket, idleMs: number) {
    this.#pool = pool;
    this.socket = socket;
    this.idleMs = idleMs;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => {
      if (this.#parser?.eof()) return;
      this.#close(new SocketClosedError('connection closed by the server'));
    });
    socket.on('error', (err) => this.#close(err));
    socket.on('close', () => this.#close(new SocketClosedError('connection closed')));
  }

  start(req: Request): void {
    this.#req = req;
    req.conn = this;
    this.socket.ref();
    this.#parser = new ResponseParser(this);
    this.socket.write(req.bytes);
  }

  /** Drops the connection under its request (timeout, read cap). */
  abort(): void {
    this.#req = null;
    this.#parser = null;
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    const parser = this.#parser;
    if (!parser) {
      // Bytes while idle answer no request: this connection is not trusted again.
      this.socket.destroy();
      return;
    }
    try {
      parser.feed(chunk);
    } catch (err) {
      this.#close(err as Error);
    }
  }

  onHead(head: ResponseHead): void {
    if (head.keepAliveMs !== undefined)
      this.idleMs = Math.min(this.idleMs, Math.max(0, head.keepAliveMs - KEEP_ALIVE_MARGIN_MS));
    this.#req?.exchange.onHead(head);
  }

  onData(chunk: Buffer): void {
    this.#req?.exchange.onData(chunk);
  }

  onEnd(reusable: boolean): void {
    const req = this.#req;
    this.#req = null;
    this.#parser = null;
    if (req) {
      req.done = true;
      req.conn = null;
    }
    this.#pool.release(this, reusable);
    req?.exchange.onEnd();
  }

  #close(err: Error): void {
    const req = this.#req;
    this.#req = null;
    this.#parser = null;
    if (!this.socket.destroyed) this.socket.destroy();
    this.#pool.remove(this);
    if (req && !req.done) {
      req.done = true;
      req.exchange.onError(err);
    }
  }
}

class OriginPool {
  readonly #target: Target;
  readonly #client: Http1Client;
  readonly idle: Connection[] = [];
  readonly #queue: Request[] = [];
  /** Connections open or being opened. */
  #open = 0;
  readonly #all = new Set<Connection>();

  constructor(target: Target, client: Http1Client) {
    this.#target = target;
    this.#client = client;
  }

  get empty(): boolean {
    return this.#open === 0 && this.#queue.length === 0;
  }

  send(req: Request): void {
    const conn = this.#fresh();
    if (conn) conn.start(req);
    else if (this.#open < this.#client.maxPerOrigin) this.#connect(req);
    else this.#queue.push(req);
  }

  /** The most recently used idle connection still within its keep-alive (the sweep is once a second). */
  #fresh(): Connection | undefined {
    const now = Date.now();
    for (let conn = this.idle.pop(); conn; conn = this.idle.pop()) {
      if (now - conn.idleSince < conn.idleMs) return conn;
      conn.socket.destroy();
    }
    return undefined;
  }

  unqueue(req: Request): void {
    const i = this.#queue.indexOf(req);
    if (i !== -1) this.#queue.splice(i, 1);
  }

  release(conn: Connection, reusable: boolean): void {
    if (!reusable || this.#client.closed) {
      conn.socket.destroy(); // its 'close' removes it
      return;
    }
    const next = this.#queue.shift();
    if (next) {
      conn.start(next);
      return;
    }
    conn.idleSince = Date.now();
    // An idle connection does not keep the process alive (as undici's did not).
    conn.socket.unref();
    this.idle.push(conn);
  }

  remove(conn: Connection): void {
    if (!this.#all.delete(conn)) return;
    this.#open--;
    const i = this.idle.indexOf(conn);
    if (i !== -1) this.idle.splice(i, 1);
    this.#connectNext();
  }

  /** A connection fewer: the next waiting request gets a new one, or an unused pool is dropped. */
  #connectNext(): void {
    const next = this.#queue.shift();
    if (next) this.#connect(next);
    else if (this.empty) this.#client.forget(this.#target.origin, this);
  }

  destroyAll(): void {
    for (const conn of [...this.#all]) conn.socket.destroy();
    for (const req of this.#queue.splice(0)) {
      req.done = true;
      req.exchange.onError(new SocketClosedError('client closed'));
    }
  }

  #connect(req: Request): void {
    this.#open++;
    const t = this.#target;
    this.#client.connector(
      { hostname: t.hostname, host: t.host, protocol: t.protocol, port: t.port, servername: null } as never,
      (err, socket) => {
        if (err || !socket) {
          this.#open--;
          if (!req.done) {
            req.done = true;
            req.exchange.onError(err ?? new SocketClosedError('no connection'));
          }
          this.#connectNext();
          return;
        }
        const conn = new Connection(this, socket as Socket, this.#client.idleTimeoutMs);
        this.#all.add(conn);
        if (this.#client.closed) socket.destroy();
        // A request dropped while its connection was being made leaves the connection to the next.
        else if (req.done) this.release(conn, true);
        else conn.start(req);
      },
    );
  }
}

export class Http1Client {
  readonly connector: buildConnector.connector;
  readonly maxPerOrigin: number;
  readonly idleTimeoutMs: number;
  readonly #pools = new Map<string, OriginPool>();
  readonly #sweep: NodeJS.Timeout;
  closed = false;

  constructor(opts: ClientOptions = {}) {
    this.connector = opts.connect ?? buildConnector({});
    this.maxPerOrigin = opts.maxPerOrigin ?? 128;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 30_000;
    // Idle connections past their keep-alive are closed once a second: no timer per connection.
    this.#sweep = setInterval(() => this.#closeStale(), 1000);
    this.#sweep.unref();
  }

  /** Writes `bytes` (a whole request) to a connection to `target`; the exchange hears the rest. */
  request(target: Target, bytes: string | Buffer, exchange: Exchange): Handle {
    const req: Request = {
      bytes,
      exchange,
      conn: null,
      done: false,
      abort: () => {
        if (req.done) return;
        req.done = true;
        if (req.conn) req.conn.abort();
        else this.#pools.get(target.origin)?.unqueue(req);
      },
    };
    if (this.closed) {
      req.done = true;
      queueMicrotask(() => exchange.onError(new SocketClosedError('client closed')));
      return req;
    }
    let pool = this.#pools.get(target.origin);
    if (!pool) {
      pool = new OriginPool(target, this);
      this.#pools.set(target.origin, pool);
    }
    pool.send(req);
    return req;
  }

  forget(origin: string, pool: OriginPool): void {
    if (this.#pools.get(origin) === pool) this.#pools.delete(origin);
  }

  /** Cuts every connection: requests in flight fail with connection_reset. */
  close(): void {
    this.closed = true;
    clearInterval(this.#sweep);
    for (const pool of [...this.#pools.values()]) pool.destroyAll();
  }

  #closeStale(): void {
    const now = Date.now();
    for (const pool of this.#pools.values())
      for (const conn of [...pool.idle]) if (now - conn.idleSince >= conn.idleMs) conn.socket.destroy();
  }
}

/**
 * An HTTP/1.1 response parser for the sending side: strict (CRLF line ends, no folded headers,
 * one Content-Length) and bounded (the head at MAX_HEAD_BYTES), since the peer may be hostile.
 * It reads only what delivery needs: the status, Retry-After, the body's framing and whether
 * the connection may be reused.
 */

/** The head (status line and headers) may not be longer; undici's limit as Hookline set it. */
export const MAX_HEAD_BYTES = 16 * 1024;
/** A chunk-size line or a trailer line longer than this is not a real one. */
const MAX_LINE_BYTES = 4096;

/** A response that does not parse: the connection is dropped and the attempt fails with `code`. */
export class ResponseError extends Error {
  constructor(
    readonly code: 'response_too_large' | 'invalid_response',
    message: string,
  ) {
    super(message);
  }
}

export interface ResponseHead {
  statusCode: number;
  retryAfter: string | undefined;
  /** The server's keep-alive timeout hint (`Keep-Alive: timeout=N`), in ms. */
  keepAliveMs: number | undefined;
}

export interface ResponseSink {
  onHead(head: ResponseHead): void;
  onData(chunk: Buffer): void;
  /** The response is complete; `reusable`: the connection may carry the next request. */
  onEnd(reusable: boolean): void;
}

type State = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'close' | 'done';

const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: [^\r\n]*)?$/;
const LONE_CR_OR_LF = /\r(?!\n)|(?<!\r)\n/;
/** The header names read (10 to 17 characters long); all others are skipped unread. */
const WANTED = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'retry-after']);
/** RFC 9110 token characters, by char code. */
const TOKEN_CHARS = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TOKEN_CHARS[c.charCodeAt(0)] = 1;
for (let c = 0; c < 128; c++) if (/[0-9A-Za-z]/.test(String.fromCharCode(c))) TOKEN_CHARS[c] = 1;

function isToken(text: string, from: number, to: number): boolean {
  if (from === to) return false;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || TOKEN_CHARS[c] === 0) return false;
  }
  return true;
}
const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');

function fail(message: string): never {
  throw new ResponseError('invalid_response', message);
}

export class ResponseParser {
  readonly #sink: ResponseSink;
  #state: State = 'head';
  /** Bytes of an unfinished head or line, carried to the next chunk. */
  #pending: Buffer | null = null;
  #left = 0;
  #trailerBytes = 0;
  #reusable = true;
  #told = false;

  constructor(sink: ResponseSink) {
    this.#sink = sink;
  }

  /** Feeds bytes read from the socket; throws a ResponseError on a malformed response. */
  feed(chunk: Buffer): void {
    let data = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk;
    this.#pending = null;
    while (data.length > 0) {
      switch (this.#state) {
        case 'head':
          data = this.#head(data);
          break;
        case 'length':
          data = this.#body(data);
          if (this.#left === 0) this.#end();
          break;
        case 'chunk-size':
          data = this.#line(data, (line) => this.#chunkSize(line));
          break;
        case 'chunk-data':
          data = this.#body(data);
          if (this.#left === 0) this.#state = 'chunk-end';
          break;
        case 'chunk-end':
          data = this.#line(data, (line) => {
            if (line.length !== 0) fail('chunk not followed by CRLF');
            this.#state = 'chunk-size';
          });
          break;
        case 'trailers':
          data = this.#line(data, (line) => {
            this.#trailerBytes += line.length + 2;
            if (this.#trailerBytes > MAX_HEAD_BYTES)
              throw new ResponseError('response_too_large', 'trailers too large');
            if (line.length === 0) this.#end();
          });
          break;
        case 'close':
          this.#sink.onData(data);
          data = data.subarray(data.length);
          break;
        case 'done':
          // Bytes nobody asked for: they answer nothing, so this connection is not trusted again.
          this.#reusable = false;
          data = data.subarray(data.length);
          break;
      }
    }
    this.#finish();
  }

  /** The peer closed its side. A body that runs to the close is complete; anything else is cut short. */
  eof(): boolean {
    if (this.#state !== 'close') return this.#state === 'done';
    this.#reusable = false;
    this.#end();
    this.#finish();
    return true;
  }

  /** Passes up to `#left` body bytes to the sink; returns what follows them. */
  #body(data: Buffer): Buffer {
    const n = Math.min(this.#left, data.length);
    this.#sink.onData(n === data.length ? data : data.subarray(0, n));
    this.#left -= n;
    return data.subarray(n);
  }

  #head(data: Buffer): Buffer {
    const at = data.indexOf(HEAD_END);
    if (at === -1) {
      if (data.length > MAX_HEAD_BYTES)
        throw new ResponseError('response_too_large', 'response head too large');
      this.#pending = data;
      return data.subarray(data.length);
    }
    if (at + 4 > MAX_HEAD_BYTES) throw new ResponseError('response_too_large', 'response head too large');
    this.#parseHead(data.toString('latin1', 0, at));
    return data.subarray(at + 4);
  }

  #parseHead(text: string): void {
    // Bare CR or LF: lenient parsers split lines there and strict ones do not; refusing them
    // keeps this side and the server agreeing on where each answer ends.
    if (LONE_CR_OR_LF.test(text)) fail('bare CR or LF in the response head');
    let eol = text.indexOf('\r\n');
    if (eol === -1) eol = text.length;
    const status = STATUS_LINE.exec(text.slice(0, eol));
    if (!status) fail('malformed status line');
    const minor = status[1];
    const statusCode = Number(status[2]);
    let contentLength: number | null = null;
    let chunked = false;
    let encoded = false;
    let close = false;
    let keepAlive = false;
    let keepAliveMs: number | undefined;
    let retryAfter: string | undefined;
    for (let start = eol + 2; start < text.length; start = eol + 2) {
      eol = text.indexOf('\r\n', start);
      if (eol === -1) eol = text.length;
      const colon = text.indexOf(':', start);
      if (colon === -1 || colon >= eol) fail('malformed header line');
      if (!isToken(text, start, colon)) fail('malformed header name');
      // Only the headers read below are cut out of the head; the rest are only checked.
      const length = colon - start;
      if (length < 10 || length > 17) continue;
      const name = text.slice(start, colon).toLowerCase();
      if (!WANTED.has(name)) continue;
      const value = text.slice(colon + 1, eol).trim();
      switch (name) {
        case 'content-length': {
          if (!/^\d{1,15}$/.test(value)) fail('malformed content-length');
          const n = Number(value);
          if (contentLength !== null && contentLength !== n) fail('conflicting content-length');
          contentLength = n;
          break;
        }
        case 'transfer-encoding': {
          encoded = true;
          const codings = value.toLowerCase().split(',');
          chunked = codings[codings.length - 1]?.trim() === 'chunked';
          break;
        }
        case 'connection':
          for (const t of value.toLowerCase().split(',')) {
            const token = t.trim();
            if (token === 'close') close = true;
            else if (token === 'keep-alive') keepAlive = true;
          }
          break;
        case 'keep-alive': {
          const m = /(?:^|[,\s])timeout=(\d{1,9})/i.exec(value);
          if (m) keepAliveMs = Number(m[1]) * 1000;
          break;
        }
        case 'retry-after':
          retryAfter ??= value;
          break;
      }
    }
    // An interim answer (100 Continue, 103 Early Hints): the real one follows. 101 was not asked for.
    if (statusCode < 200) {
      if (statusCode === 101) fail('unrequested protocol switch');
      return;
    }
    if (close || (minor === '0' && !keepAlive)) this.#reusable = false;
    this.#sink.onHead({ statusCode, retryAfter, keepAliveMs });
    // Body framing, RFC 9112 §6.3: none for 204/304; Transfer-Encoding over Content-Length
    // (whose presence beside it makes the connection suspect); else Content-Length; else to close.
    if (statusCode === 204 || statusCode === 304) this.#end();
    else if (encoded) {
      if (contentLength !== null) this.#reusable = false;
      if (chunked) this.#state = 'chunk-size';
      else this.#toClose();
    } else if (contentLength !== null) {
      this.#left = contentLength;
      if (contentLength === 0) this.#end();
      else this.#state = 'length';
    } else this.#toClose();
  }

  #toClose(): void {
    this.#state = 'close';
    this.#reusable = false;
  }

  /** Takes one CRLF-ended line off `data` to `use`, or keeps the partial line for the next chunk. */
  #line(data: Buffer, use: (line: Buffer) => void): Buffer {
    const at = data.indexOf(CRLF);
    if (at === -1) {
      if (data.length > MAX_LINE_BYTES) fail('line too long');
      this.#pending = data;
      return data.subarray(data.length);
    }
    if (at > MAX_LINE_BYTES) fail('line too long');
    use(data.subarray(0, at));
    return data.subarray(at + 2);
  }

  #chunkSize(line: Buffer): void {
    const text = line.toString('latin1');
    const semi = text.indexOf(';');
    const hex = (semi === -1 ? text : text.slice(0, semi)).trim();
    if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) fail('malformed chunk size');
    const size = Number.parseInt(hex, 16);
    if (size === 0) this.#state = 'trailers';
    else {
      this.#left = size;
      this.#state = 'chunk-data';
    }
  }

  #end(): void {
    this.#state = 'done';
  }

  /** Tells the sink once, after the whole chunk is read: bytes past the end change `reusable`. */
  #finish(): void {
    if (this.#state !== 'done' || this.#told) return;
    this.#told = true;
    this.#sink.onEnd(this.#reusable);
  }
}

/**
 * The response parser, fed each response whole, split at every byte boundary, and a byte at a
 * time: a peer's writes arrive cut anywhere, and the outcome must not depend on where.
 */
import { describe, expect, it } from 'vitest';
import { MAX_HEAD_BYTES, type ResponseError, ResponseParser } from '../../src/delivery/http1-response.js';

interface Parsed {
  status: number | null;
  retryAfter: string | undefined;
  keepAliveMs: number | undefined;
  body: string;
  ended: boolean;
  reusable: boolean | null;
  error: string | null;
}

function parse(pieces: Buffer[], closeAfter = false): Parsed {
  const out: Parsed = {
    status: null,
    retryAfter: undefined,
    keepAliveMs: undefined,
    body: '',
    ended: false,
    reusable: null,
    error: null,
  };
  const parser = new ResponseParser({
    onHead(h) {
      out.status = h.statusCode;
      out.retryAfter = h.retryAfter;
      out.keepAliveMs = h.keepAliveMs;
    },
    onData(c) {
      out.body += c.toString('latin1');
    },
    onEnd(reusable) {
      expect(out.ended, 'onEnd twice').toBe(false);
      out.ended = true;
      out.reusable = reusable;
    },
  });
  try {
    for (const p of pieces) parser.feed(p);
    if (closeAfter && !out.ended && !parser.eof()) out.error = 'cut short';
  } catch (err) {
    out.error = (err as ResponseError).code;
  }
  return out;
}

/** The same result however the bytes are cut. */
function parseEveryWay(raw: string, closeAfter = false): Parsed {
  const bytes = Buffer.from(raw, 'latin1');
  const whole = parse([bytes], closeAfter);
  for (let i = 1; i < bytes.length; i++) {
    const split = parse([bytes.subarray(0, i), bytes.subarray(i)], closeAfter);
    expect(split, `split at ${i}`).toEqual(whole);
  }
  const single = parse(
    [...bytes].map((b) => Buffer.from([b])),
    closeAfter,
  );
  expect(single, 'a byte at a time').toEqual(whole);
  return whole;
}

describe('the HTTP/1.1 response parser', () => {
  it('reads a Content-Length body and keeps the connection', () => {
    const r = parseEveryWay('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello');
    expect(r).toMatchObject({ status: 200, body: 'hello', ended: true, reusable: true, error: null });
  });

  it('reads a chunked body with extensions and trailers', () => {
    const r = parseEveryWay(
      'HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '5;ext=1\r\nhello\r\n1A\r\n, abcdefghijklmnopqrstuvwx\r\n0\r\nX-Trailer: t\r\n\r\n',
    );
    expect(r).toMatchObject({
      status: 202,
      body: 'hello, abcdefghijklmnopqrstuvwx',
      ended: true,
      reusable: true,
    });
  });

  it('reads a body without length to the close, and does not reuse that connection', () => {
    const r = parseEveryWay('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nto the end', true);
    expect(r).toMatchObject({ status: 200, body: 'to the end', ended: true, reusable: false, error: null });
  });

  it('skips interim answers and takes the final one', () => {
    const r = parseEveryWay(
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n',
    );
    expect(r).toMatchObject({ status: 204, body: '', ended: true, reusable: true });
  });

  it('reads Retry-After and the keep-alive hint; honours Connection: close and HTTP/1.0', () => {
    const r = parseEveryWay(
      'HTTP/1.1 503 Busy\r\nRetry-After: 120\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 0\r\n\r\n',
    );
    expect(r).toMatchObject({ status: 503, retryAfter: '120', keepAliveMs: 5000, reusable: true });
    expect(parseEveryWay('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n').reusable).toBe(
      false,
    );
    expect(parseEveryWay('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').reusable).toBe(false);
    expect(
      parseEveryWay('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n').reusable,
    ).toBe(true);
  });

  it('does not reuse a connection that sent bytes past the response', () => {
    const r = parse([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n')]);
    expect(r).toMatchObject({ status: 200, body: 'ok', ended: true, reusable: false });
  });

  it('ends at the body a 204 cannot have, and reports a body cut short', () => {
    expect(parseEveryWay('HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n')).toMatchObject({
      status: 304,
      body: '',
      ended: true,
    });
    expect(parseEveryWay('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort', true)).toMatchObject({
      status: 200,
      body: 'short',
      ended: false,
      error: 'cut short',
    });
  });

  it('refuses malformed responses', () => {
    const bad = [
      'HTTP/2 200 OK\r\n\r\n',
      'HTTP/1.1 20 OK\r\n\r\n',
      'ICY 200 OK\r\n\r\n',
      'HTTP/1.1 200 OK\r\nNo-Colon\r\n\r\n',
      'HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n',
      'HTTP/1.1 200 OK\r\n folded: x\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello',
      'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n',
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n',
      'HTTP/1.1 200 OK\r\nX-A: 1\nContent-Length: 0\r\n\r\n',
      'HTTP/1.1 200 OK\r\nX-A: 1\rContent-Length: 0\r\n\r\n',
    ];
    for (const raw of bad) expect(parseEveryWay(raw).error, JSON.stringify(raw)).toBe('invalid_response');
  });

  it('refuses a head larger than the limit, however it arrives', () => {
    const big = `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(MAX_HEAD_BYTES)}\r\n\r\n`;
    expect(parse([Buffer.from(big)]).error).toBe('response_too_large');
    const pieces = [];
    for (let i = 0; i < big.length; i += 1000) pieces.push(Buffer.from(big.slice(i, i + 1000)));
    expect(parse(pieces).error).toBe('response_too_large');
  });

  it('takes Transfer-Encoding over Content-Length, and then trusts the connection no more', () => {
    const r = parseEveryWay(
      'HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
    );
    expect(r).toMatchObject({ status: 200, body: 'ok', ended: true, reusable: false });
  });
});

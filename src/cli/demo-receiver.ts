import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The demo's stand-in for a customer's endpoint: `/orders` always answers 200, `/flaky` fails
 * each message's first two attempts with 503 and then accepts it.
 */
export async function startDemoReceiver(): Promise<{ url: string; server: Server }> {
  const seen = new Map<string, number>();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/flaky') {
        const id = String(req.headers['webhook-id']);
        const n = (seen.get(id) ?? 0) + 1;
        seen.set(id, n);
        res.statusCode = n <= 2 ? 503 : 200;
        return res.end(n <= 2 ? 'warming up, try later' : 'ok');
      }
      res.end('ok');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

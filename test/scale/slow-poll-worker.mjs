// `hookline serve` with the dispatcher's safety-net poll at 60 s instead of 1 s, for the test that
// work reaches a worker by LISTEN/NOTIFY: configured from the HOOKLINE_* env like the CLI (run the
// build first: it imports dist/).
import { resolveConfig } from '../../dist/server/config.js';
import { startServer } from '../../dist/server/start-server.js';

const server = await startServer(resolveConfig({}), { dispatcher: { pollIntervalMs: 60_000 } });
process.stdout.write(`Hookline listening on ${server.url}\n`);
process.once('SIGTERM', () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});

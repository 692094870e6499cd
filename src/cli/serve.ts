import { ConfigError, resolveConfig, type ServeFlags } from '../server/config.js';
import { startServer } from '../server/start-server.js';

/** Prints a configuration mistake as one line (no stack trace) and exits non-zero. */
export function fail(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`hookline: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}

export async function serveCommand(flags: ServeFlags): Promise<void> {
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(resolveConfig(flags));
  } catch (err) {
    fail(err);
  }
  if (server.generatedAdminKey) {
    process.stdout.write(`Admin API key: ${server.generatedAdminKey}\n`);
    process.stdout.write('(shown once: store it now; set HOOKLINE_ADMIN_KEY to choose your own)\n');
  }
  process.stdout.write(`Hookline listening on ${server.url}\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.app.log.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (err) => {
        server.app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

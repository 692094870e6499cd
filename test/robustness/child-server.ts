import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ApiClient } from '../support/api-client.js';
import { TEST_ADMIN_KEY } from '../support/test-server.js';

/** The built CLI: these tests run the real `hookline serve` (build first: `npx tsc -p tsconfig.json`). */
const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** A port nobody listens on right now: listen on 0, read it, close. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Polls `check` every `intervalMs` until it holds; throws `what` after `timeoutMs`. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string | (() => string),
  intervalMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) {
      throw new Error(`not within ${timeoutMs} ms: ${typeof what === 'string' ? what : what()}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** `node dist/cli/main.js serve --dev` on a SQLite file, as a child process. */
export class ChildServer {
  readonly admin: ApiClient;
  readonly exited: Promise<Exit>;
  #output = '';

  private constructor(
    readonly proc: ChildProcess,
    readonly port: number,
  ) {
    this.admin = new ApiClient(`http://127.0.0.1:${port}`, TEST_ADMIN_KEY);
    proc.stdout?.on('data', (c: Buffer) => {
      this.#output += c.toString('utf8');
    });
    proc.stderr?.on('data', (c: Buffer) => {
      this.#output += c.toString('utf8');
    });
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => resolve({ code, signal }));
    });
  }

  /** What the process printed (stdout and stderr), for failure messages. */
  get output(): string {
    return this.#output;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Starts the server and resolves once it answers /healthz. */
  static async start(dbPath: string, env: Record<string, string> = {}): Promise<ChildServer> {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npx tsc -p tsconfig.json\` first`);
    const port = await freePort();
    const proc = spawn(process.execPath, [MAIN, 'serve', '--port', String(port), '--db', dbPath, '--dev'], {
      env: {
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HOOKLINE_'))),
        HOOKLINE_ADMIN_KEY: TEST_ADMIN_KEY,
        HOOKLINE_LOG_LEVEL: 'warn',
        // Load tests publish faster than the per-key API limit allows; that limit is not under test.
        HOOKLINE_API_RATE_LIMIT: 'off',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = new ChildServer(proc, port);
    let exit: Exit | null = null;
    void server.exited.then((e) => {
      exit = e;
    });
    await waitUntil(
      async () => {
        if (exit)
          throw new Error(`server exited (${JSON.stringify(exit)}) before answering:\n${server.output}`);
        try {
          return (await fetch(`${server.admin.baseUrl}/healthz`)).status === 200;
        } catch {
          return false;
        }
      },
      15_000,
      () => `server on port ${port} to answer /healthz:\n${server.output}`,
      20,
    );
    return server;
  }

  kill(signal: NodeJS.Signals): void {
    this.proc.kill(signal);
  }

  /** SIGKILL unless already gone; for afterAll/finally. */
  async stop(): Promise<void> {
    if (this.running) this.proc.kill('SIGKILL');
    await this.exited;
  }
}

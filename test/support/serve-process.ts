import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The built CLI (`npm test` runs the build first). */
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** A port that was free a moment ago: bind port 0, read it, release it. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The parent's environment without any HOOKLINE_* setting, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HOOKLINE_')) env[k] = v;
  return { ...env, ...extra };
}

/** `hookline …` as a real child process, with its output collected. */
export class ServeProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(args: string[], opts: { env?: Record<string, string>; cwd: string }) {
    this.child = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd,
      env: cleanEnv({ HOOKLINE_LOG_LEVEL: 'warn', ...opts.env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
    });
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** Resolves once stdout holds a match (polling), rejects if the process exits first or time runs out. */
  async waitForStdout(re: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    let exited = false;
    void this.exited.then(() => {
      exited = true;
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.stdout.match(re);
      if (m) return m;
      if (exited || Date.now() > deadline) {
        throw new Error(
          `no ${re} on stdout (${exited ? 'process exited' : 'timed out'}); stdout: ${this.stdout}; stderr: ${this.stderr}`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Waits for the exit code, killing the process if it takes longer than `timeoutMs`. */
  async exitCode(timeoutMs = 10_000): Promise<number | null> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops it with `signal` and returns the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exitCode();
  }
}

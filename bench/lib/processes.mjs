// Every process the harness starts goes through here, so that all of them are killed at the end:
// after a normal run, on an error, and on Ctrl-C. Also reads a process's memory and CPU from /proc.
import { fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const children = new Set();
const cleanups = [];
let shuttingDown = false;

/** True once the harness is killing everything: exits after that were asked for. */
export const isShuttingDown = () => shuttingDown;

function track(child, name) {
  child.benchName = name;
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** `node <file> <args>` with an IPC channel (our own helper processes). */
export function forkTracked(file, args, name, options = {}) {
  return track(fork(file, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], ...options }), name);
}

/** Any other program, with stdout and stderr piped (the caller reads them). */
export function spawnTracked(command, args, name, options = {}) {
  return track(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options }), name);
}

/** Kills one tracked process and waits for it to be gone. */
export async function stopProcess(child, signal = 'SIGKILL') {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await gone;
}

/** Synchronous: safe in an 'exit' handler. */
export function killAll() {
  shuttingDown = true;
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {}
  }
  children.clear();
}

/** Registers an async clean-up step (drop a schema, remove a temp dir); run in reverse order. */
export function onCleanup(fn) {
  cleanups.push(fn);
  return () => {
    const i = cleanups.indexOf(fn);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

let cleaning = null;
let interrupted = false;

/** Kills every process, then runs the clean-up steps; every caller awaits the same run. */
export function cleanup() {
  cleaning ??= (async () => {
    killAll();
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        process.stderr.write(`bench: clean-up step failed: ${err.message}\n`);
      }
    }
  })();
  return cleaning;
}

/** True after Ctrl-C (SIGINT), SIGTERM or SIGHUP. */
export const wasInterrupted = () => interrupted;

export function installExitHandlers() {
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      interrupted = true;
      process.stderr.write(`\nbench: ${signal}: stopping every process it started…\n`);
      cleanup().finally(() => process.exit(130));
    });
  }
}

/** VmRSS and VmHWM (peak RSS) of a live process, in MB; null once it is gone. */
export function memoryMb(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field) => Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

/** utime + stime from a `/proc/<pid>/stat` (or `…/task/<tid>/stat`) line, in clock ticks of 1/100 s. */
export function cpuTicks(statLine) {
  const fields = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** utime + stime of a process, in seconds. */
export function cpuSeconds(pid) {
  try {
    return cpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8')) / 100;
  } catch {
    return 0;
  }
}

/** Samples a process's RSS on a timer and keeps the peak. */
export class RssSampler {
  peak = 0;
  last = 0;
  #timer = null;

  constructor(pid, intervalMs = 100) {
    this.pid = pid;
    this.intervalMs = intervalMs;
  }

  sample() {
    const m = memoryMb(this.pid);
    if (m) {
      this.last = m.rss;
      this.peak = Math.max(this.peak, m.rss);
    }
    return m;
  }

  start() {
    this.sample();
    this.#timer = setInterval(() => this.sample(), this.intervalMs);
    this.#timer.unref();
    return this;
  }

  stop() {
    clearInterval(this.#timer);
    this.sample();
    return this.peak;
  }
}

// Where a throughput run's CPU went, from Linux's /proc: each process's main thread and its other
// threads (Hookline's sending thread, libuv's pool, V8's GC helpers), and how long the machine's
// cores sat idle. The ratios to raw undici are judged against this: on a 2-core machine every
// microsecond a delivery costs in any of the processes is taken from the same two cores.
import { readdirSync, readFileSync } from 'node:fs';
import { cpuTicks } from './processes.mjs';

/** Linux counts CPU time in clock ticks of 1/100 s (USER_HZ) in /proc. */
const TICK_US = 10_000;

/** { main, other } ticks of a live process; null once it is gone (or without /proc). */
function processTicks(pid) {
  try {
    let main = 0;
    let other = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const t = cpuTicks(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
      if (Number(tid) === pid) main += t;
      else other += t;
    }
    return { main, other };
  } catch {
    return null;
  }
}

/** All cores' ticks and their idle ones (idle + iowait), from the first line of /proc/stat. */
function machineTicks() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].split(/\s+/).slice(1).map(Number);
    return { total: f.reduce((a, b) => a + b, 0), idle: (f[3] ?? 0) + (f[4] ?? 0) };
  } catch {
    return null;
  }
}

/**
 * Starts counting for `processes` ({ name: pid }); `stop(deliveries)` gives, per process, the CPU
 * of its main thread and of its other threads in µs a delivery, and the machine's idle share
 * (0–1) over the same time; null where /proc could not be read (not Linux).
 */
export function countCpu(processes) {
  const start = Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, processTicks(pid)]));
  const machine0 = machineTicks();
  return {
    stop(deliveries) {
      const perDelivery = (ticks) => (ticks * TICK_US) / deliveries;
      const out = { processes: {}, machineIdle: null };
      for (const [name, pid] of Object.entries(processes)) {
        const a = start[name];
        const b = processTicks(pid);
        out.processes[name] =
          a && b && deliveries > 0
            ? {
                mainUs: perDelivery(b.main - a.main),
                // A thread that ended meanwhile takes its ticks with it.
                otherUs: perDelivery(Math.max(0, b.other - a.other)),
              }
            : null;
      }
      const m = machineTicks();
      if (machine0 && m && m.total > machine0.total)
        out.machineIdle = (m.idle - machine0.idle) / (m.total - machine0.total);
      return out;
    },
  };
}

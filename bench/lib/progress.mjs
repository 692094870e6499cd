// Progress lines while the benchmark runs: one per phase, prefixed with the time since the start.
const start = performance.now();

export const fmt = (n, digits = 0) =>
  n === null || n === undefined || Number.isNaN(n)
    ? '—'
    : Number(n).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function log(phase, text) {
  const t = ((performance.now() - start) / 1000).toFixed(1).padStart(6);
  process.stdout.write(`[${t}s] ${phase.padEnd(12)} ${text}\n`);
}

/** A `progress(count)` callback for Receiver.waitFor that prints "received x of n". */
export function receivedProgress(phase, total) {
  return (n) => log(phase, `… received ${fmt(n)} of ${fmt(total)}`);
}

import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

/**
 * Makes every fdatasync of this process (the SQLite store's WAL flushes) answer `ms` later, and
 * notes when each answered. The one stand-in of the suite: nothing real makes a disk slow on
 * demand, and the disk here is too fast to see what waits for a flush. `restore()` undoes it.
 */
export function slowFlushes(ms: number): { ends: number[]; restore: () => void } {
  const real = fs.fdatasync;
  const ends: number[] = [];
  fs.fdatasync = ((fd: number, callback: (err: NodeJS.ErrnoException | null) => void) =>
    real(fd, (err) =>
      setTimeout(() => {
        ends.push(Date.now());
        callback(err);
      }, ms),
    )) as typeof fs.fdatasync;
  syncBuiltinESMExports();
  return {
    ends,
    restore: () => {
      fs.fdatasync = real;
      syncBuiltinESMExports();
    },
  };
}

import { setFlagsFromString } from 'node:v8';

/**
 * V8 allocation-site pretenuring off, for the hookline process (imported first by the CLI).
 *
 * Under load V8 decided that the object literals of a claim and of an attempt's record outlive the
 * young generation, and allocated them in the old one from then on. They live milliseconds; dead
 * there until the next full GC, they kept every young object they point to alive through each
 * scavenge, so ~2.2 MB was promoted every scavenge in bench (a) instead of ~0.15 MB, and
 * scavenges took ~2.5 ms instead of ~1.5 (bench/CHANGES.md, 39). The flag is read when V8 takes
 * a pretenuring decision, not only at start-up, so setting it here takes effect (checked with
 * `--trace-gc-nvp`). Set by the CLI only: servers the tests start in process run with V8's defaults.
 */
setFlagsFromString('--no-allocation-site-pretenuring');

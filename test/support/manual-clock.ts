import type { Clock } from '../../src/core/clock.js';

/** A clock tests move by hand, so retry schedules and suspensions need no real waiting. */
export class ManualClock implements Clock {
  #now: number;

  constructor(start = Date.parse('2026-01-01T00:00:00.000Z')) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  advance(ms: number): void {
    this.#now += ms;
  }
}

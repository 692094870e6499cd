const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
const DURATION_RE = /^(\d+)(ms|s|m|h)$/;

/** Parses `1m,5m,30m,2h` into milliseconds; throws with the offending item named. */
export function parseDurationList(text: string): number[] {
  const items = text.split(',').map((s) => s.trim());
  if (items.length === 0 || items.some((s) => s === '')) throw new Error(`empty item in "${text}"`);
  return items.map((item) => {
    const m = DURATION_RE.exec(item);
    if (!m) throw new Error(`"${item}" is not a duration like 500ms, 30s, 5m or 2h`);
    return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  });
}

export const DEFAULT_RETRY_SCHEDULE_MS = parseDurationList('1m,5m,30m,2h');

const SEGMENT = '[A-Za-z0-9_-]+';
const NAME_RE = new RegExp(`^${SEGMENT}(\\.${SEGMENT})*$`);
const PREFIX_PATTERN_RE = new RegExp(`^${SEGMENT}(\\.${SEGMENT})*\\.\\*$`);

export const MAX_EVENT_TYPE_NAME = 128;

export function isEventTypeName(name: string): boolean {
  return name.length <= MAX_EVENT_TYPE_NAME && NAME_RE.test(name);
}

/** A subscription pattern: an exact name, `prefix.*`, or `*`. */
export function isEventPattern(pattern: string): boolean {
  if (pattern === '*') return true;
  if (pattern.length > MAX_EVENT_TYPE_NAME + 2) return false;
  return NAME_RE.test(pattern) || PREFIX_PATTERN_RE.test(pattern);
}

export function isWildcard(pattern: string): boolean {
  return pattern.endsWith('*');
}

/** An empty list subscribes to every type. `a.*` matches `a.b` and `a.b.c`, not `a` itself. */
export function matchesEvent(patterns: readonly string[], type: string): boolean {
  if (patterns.length === 0) return true;
  for (const p of patterns) {
    if (p === '*' || p === type) return true;
    if (p.endsWith('.*') && type.startsWith(p.slice(0, -1))) return true;
  }
  return false;
}

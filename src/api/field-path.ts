/** `/auth/username` → `auth.username`, `/events/3` → `events[3]`: how messages name a field. */
export function fieldPath(pointer: string, prefix = ''): string {
  let out = prefix;
  for (const part of pointer.split('/').slice(1)) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(key) ? `[${key}]` : out ? `.${key}` : key;
  }
  return out;
}

export function joinField(base: string, key: string): string {
  return base ? `${base}.${key}` : key;
}

/** Pure checks on webhook settings beyond what the JSON schema can say. Each returns a problem or null. */

const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'user-agent',
  'authorization',
]);

export const MAX_URL_LENGTH = 2048;
export const MAX_CUSTOM_HEADERS = 20;

export function headerNameProblem(name: string): string | null {
  if (!TOKEN_RE.test(name)) return 'is not a valid HTTP header name';
  const lower = name.toLowerCase();
  if (RESERVED_HEADERS.has(lower) || lower.startsWith('webhook-'))
    return 'is set by Hookline and cannot be overridden';
  return null;
}

export function headerValueProblem(value: string): string | null {
  // CR/LF would split the request; other controls (NUL, DEL…) are refused by HTTP clients anyway.
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return 'must not contain control characters (CR, LF, NUL…)';
    // Header values travel as bytes: beyond Latin-1 the HTTP client refuses to send them at all,
    // so every attempt would fail; refuse them here instead.
    if (c > 0xff) return 'must contain only characters an HTTP header can carry (Latin-1)';
  }
  return null;
}

/** Scheme, shape and credentials of a target URL. Address checks live with the delivery guard. */
export function urlProblem(raw: string, allowHttp: boolean): string | null {
  if (raw.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`;
  // The URL parser silently drops tabs/newlines and trims spaces, so "https://exa\tmple.com" would be
  // shown as registered yet sent to example.com: refuse them instead of storing a misleading URL.
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return 'must not contain spaces or control characters';
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not an absolute URL';
  }
  if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) {
    return allowHttp ? 'must be an http:// or https:// URL' : 'must be an https:// URL (http:// needs --dev)';
  }
  if (url.username || url.password) return 'must not contain user:password@ credentials (use auth)';
  if (!url.hostname) return 'must have a host';
  return null;
}

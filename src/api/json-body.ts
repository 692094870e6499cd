import { ApiError } from '../core/errors.js';

export const MAX_JSON_DEPTH = 64;

/**
 * Nesting depth of JSON text, counted without parsing so a hostile `[[[[…` cannot reach the
 * recursive code (serializers, validators) that would overflow the stack.
 */
function depthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped char
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

/** First path holding a NUL character (in a key or a string value), or null. */
export function findNul(value: unknown, path = 'body'): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findNul(value[i], `${path}[${i}]`);
      if (hit) return hit;
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const here = path === 'body' ? k : `${path}.${k}`;
      if (k.includes('\u0000')) return here;
      const hit = findNul(v, here);
      if (hit) return hit;
    }
  }
  return null;
}

function hasProtoKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasProtoKey);
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '__proto__' || hasProtoKey(v)) return true;
    }
  }
  return false;
}

/** Parses a JSON request body; throws the contract's 400/422 errors. */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) throw new ApiError('invalid_json', 'body: empty, expected a JSON document');
  if (depthExceeds(text, MAX_JSON_DEPTH)) {
    throw new ApiError('validation_failed', `body: nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ApiError('invalid_json', `body: malformed JSON (${(err as Error).message})`);
  }
  // A "__proto__" key is harmless to JSON.parse but poisons any later object spread or merge.
  if (text.includes('__proto__') && hasProtoKey(value)) {
    throw new ApiError('invalid_json', 'body: a "__proto__" key is not allowed');
  }
  return value;
}

import { expect } from 'vitest';
import type { ApiResponse } from './api-client.js';

/**
 * Asserts the contract's error shape: the status, `error.code`, and (when given) that
 * `error.message` names the field.
 */
export function expectError(res: ApiResponse, status: number, code: string, field?: string): void {
  const summary = `${res.status} ${JSON.stringify(res.body)}`;
  expect(res.status, summary).toBe(status);
  expect(res.body?.error?.code, summary).toBe(code);
  expect(typeof res.body?.error?.message, summary).toBe('string');
  if (field !== undefined) expect(res.body.error.message, summary).toContain(field);
}

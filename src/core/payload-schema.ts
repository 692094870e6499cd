import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

import { addFormats } from './ajv-formats.js';

/** Validates message `data` against an event type's JSON Schema (draft 2020-12 or older). */
export class PayloadSchemas {
  readonly #ajv: Ajv2020;
  readonly #cache = new Map<string, ValidateFunction>();

  constructor() {
    this.#ajv = new Ajv2020({ strict: false, allErrors: false, validateSchema: true });
    addFormats(this.#ajv);
  }

  /** Why `schema` cannot be used, or null. */
  problem(schema: unknown): string | null {
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
      return typeof schema === 'boolean' ? null : 'must be a JSON Schema object';
    }
    try {
      this.#ajv.compile(schema as object);
      return null;
    } catch (err) {
      return (err as Error).message;
    }
  }

  /** Compiled validators are cached by the schema's text so updates are picked up. */
  validator(schema: unknown): ValidateFunction {
    const key = JSON.stringify(schema);
    let fn = this.#cache.get(key);
    if (!fn) {
      fn = this.#ajv.compile(schema as object);
      if (this.#cache.size > 1000) this.#cache.clear();
      this.#cache.set(key, fn);
    }
    return fn;
  }
}

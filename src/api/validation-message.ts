import type { ErrorObject } from 'ajv';
import { fieldPath, joinField } from './field-path.js';

/** One human sentence naming the field, from the first Ajv error. */
export function validationMessage(errors: ErrorObject[], part: string, prefix = ''): string {
  const err = errors[0];
  if (!err) return `${part}: invalid`;
  const at = fieldPath(err.instancePath, prefix);
  const params = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'additionalProperties':
      return `${joinField(at, String(params.additionalProperty))}: unknown field`;
    case 'required':
      return `${joinField(at, String(params.missingProperty))}: is required`;
    case 'type':
      return `${at || part}: must be ${String(params.type).replace(',', ' or ')}`;
    case 'enum':
      return `${at || part}: must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'anyOf': {
      // Nullable fields are anyOf [X, null]; the more useful error is X's, which Ajv lists first.
      const inner = errors.find(
        (e) => e.instancePath === err.instancePath && e.keyword !== 'anyOf' && e.keyword !== 'type',
      );
      if (inner) return validationMessage([inner], part, prefix);
      const typeErr = errors.find((e) => e.instancePath === err.instancePath && e.keyword === 'type');
      return `${at || part}: must be ${typeErr ? `${String(typeErr.params.type)} or null` : 'valid'}`;
    }
    default:
      return `${at || part}: ${err.message ?? 'is invalid'}`;
  }
}

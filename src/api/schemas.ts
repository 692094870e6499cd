import { type TSchema, Type } from '@sinclair/typebox';

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const IsoTime = Type.String({ format: 'date-time' });

export const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() }),
});

export const ListQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 250, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
};

export const listOf = <T extends TSchema>(item: T) =>
  Type.Object({ data: Type.Array(item), next_cursor: Nullable(Type.String()) });

/** Free-form JSON (metadata values, schemas, examples, message data). */
export const AnyJson = Type.Unknown();

export const TenantIdParam = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });

/** Strings that end up in columns: no NUL (PostgreSQL text refuses it) and a sane length. */
export const Text = (maxLength: number, minLength = 0) =>
  Type.String({ minLength, maxLength, pattern: '^[^\\u0000]*$' });

export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  413: ErrorBody,
  415: ErrorBody,
  422: ErrorBody,
  429: ErrorBody,
};

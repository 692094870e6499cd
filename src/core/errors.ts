/** Every error code of the contract with its HTTP status: the single registry the API maps from. */
export const ERROR_STATUS = {
  invalid_json: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  validation_failed: 422,
  unknown_event_type: 422,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.headers = headers;
  }
}

export const invalid = (message: string) => new ApiError('validation_failed', message);
export const notFound = (what: string) => new ApiError('not_found', `${what} not found`);
export const conflict = (message: string) => new ApiError('conflict', message);
export const forbidden = (message = 'this key may not use this route') => new ApiError('forbidden', message);

import { hexSignature, signatureHeader } from './signing.js';

export interface RequestSpec {
  messageId: string;
  payload: string;
  timestampSec: number;
  attempt: number;
  /** Live secrets, newest first: two during a rotation. */
  secrets: readonly string[];
  signatureHeaderName: string | null;
  basicAuth: { username: string; password: string } | null;
  customHeaders: Readonly<Record<string, string>>;
  userAgent: string;
}

/** The headers of one attempt, exactly as API.md "What a webhook receives" lists them. */
export function webhookHeaders(spec: RequestSpec): Record<string, string> {
  // Custom headers first so that nothing they say can replace a header Hookline owns. Names are
  // lowercased like Hookline's own: `X-Sig` beside `x-sig` would send both values on one header.
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(spec.customHeaders)) headers[name.toLowerCase()] = value;
  headers['content-type'] = 'application/json';
  headers['user-agent'] = spec.userAgent;
  headers['webhook-id'] = spec.messageId;
  headers['webhook-timestamp'] = String(spec.timestampSec);
  headers['webhook-signature'] = signatureHeader(
    spec.secrets,
    spec.messageId,
    spec.timestampSec,
    spec.payload,
  );
  headers['webhook-attempt'] = String(spec.attempt);
  if (spec.basicAuth) {
    const token = Buffer.from(`${spec.basicAuth.username}:${spec.basicAuth.password}`, 'utf8').toString(
      'base64',
    );
    headers.authorization = `Basic ${token}`;
  }
  if (spec.signatureHeaderName && spec.secrets[0] !== undefined) {
    headers[spec.signatureHeaderName.toLowerCase()] = hexSignature(spec.secrets[0], spec.payload);
  }
  return headers;
}

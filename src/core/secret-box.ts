import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 'v1';

export class SecretBoxError extends Error {}

/** AES-256-GCM for secrets at rest. Sealed form: `v1:<base64 iv(12) | tag(16) | ciphertext>`. */
export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new SecretBoxError('the encryption key must be 32 bytes');
    this.#key = key;
  }

  static fromBase64(text: string): SecretBox {
    const trimmed = text.trim();
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) {
      throw new SecretBoxError('the encryption key must be base64 of 32 bytes');
    }
    return new SecretBox(Buffer.from(trimmed, 'base64'));
  }

  static generateKey(): string {
    return randomBytes(32).toString('base64');
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  open(sealed: string): string {
    const [version, payload] = sealed.split(':', 2);
    if (version !== VERSION || payload === undefined)
      throw new SecretBoxError('unknown sealed-secret format');
    const raw = Buffer.from(payload, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    try {
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError('a stored secret does not decrypt with this encryption key');
    }
  }
}

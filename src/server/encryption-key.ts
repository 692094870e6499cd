import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { SecretBox, SecretBoxError } from '../core/secret-box.js';
import type { Store } from '../store/store.js';
import { ConfigError } from './config.js';

const CHECK_SETTING = 'encryption_check';
const CHECK_PLAIN = 'hookline-encryption-check';

/** The key file sits beside the SQLite database; created once with mode 0600. */
export function keyFilePath(dbPath: string): string {
  return `${dbPath}.key`;
}

export function loadSecretBox(
  opts: { encryptionKey: string | null; dbPath: string | null },
  name = 'HOOKLINE_ENCRYPTION_KEY',
): SecretBox {
  if (opts.encryptionKey) {
    try {
      return SecretBox.fromBase64(opts.encryptionKey);
    } catch (err) {
      throw new ConfigError(`${name}: ${(err as Error).message}`);
    }
  }
  if (opts.dbPath === null) {
    throw new ConfigError('HOOKLINE_ENCRYPTION_KEY is required with PostgreSQL (base64 of 32 random bytes)');
  }
  const path = keyFilePath(opts.dbPath);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError(`cannot read the encryption key file ${path}: ${(err as Error).message}`);
    }
    text = SecretBox.generateKey();
    try {
      writeFileSync(path, `${text}\n`, { mode: 0o600, flag: 'wx' });
    } catch (writeErr) {
      throw new ConfigError(`cannot create the encryption key file ${path}: ${(writeErr as Error).message}`);
    }
  }
  try {
    return SecretBox.fromBase64(text);
  } catch (err) {
    throw new ConfigError(`encryption key file ${path}: ${(err as Error).message}`);
  }
}

function opens(box: SecretBox, sealed: string): boolean {
  try {
    return box.open(sealed) === CHECK_PLAIN;
  } catch (err) {
    if (err instanceof SecretBoxError) return false;
    throw err;
  }
}

/**
 * Refuses to start with a key other than the one the database was written with, unless that one is
 * given as the previous key: then every stored secret is re-sealed with the new key first (one
 * transaction; values already sealed with the new key are left as they are, so an interrupted
 * rotation simply runs again). Returns how many values were re-sealed.
 */
export async function verifySecretBox(
  store: Store,
  box: SecretBox,
  previous: SecretBox | null = null,
): Promise<number> {
  const sealed = await store.initSetting(CHECK_SETTING, box.seal(CHECK_PLAIN));
  if (opens(box, sealed)) return 0;
  if (previous && opens(previous, sealed)) {
    const reseal = (value: string): string => {
      try {
        box.open(value);
        return value;
      } catch {
        return box.seal(previous.open(value));
      }
    };
    try {
      return await store.resealSecrets(reseal);
    } catch (err) {
      if (err instanceof SecretBoxError) {
        throw new ConfigError('a stored secret opens with neither the encryption key nor the previous one');
      }
      throw err;
    }
  }
  throw new ConfigError(
    previous
      ? 'the database was written with neither HOOKLINE_ENCRYPTION_KEY nor HOOKLINE_ENCRYPTION_KEY_PREVIOUS'
      : 'the encryption key does not match the one this database was created with (check HOOKLINE_ENCRYPTION_KEY or the .key file)',
  );
}

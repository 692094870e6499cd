import { DEFAULT_API_RATE_LIMIT, parseRateLimit, type RateLimit } from '../api/rate-limit.js';
import { type Cidr, parseCidrList } from '../core/address-policy.js';
import { DEFAULT_RETRY_SCHEDULE_MS, parseDurationList } from '../core/durations.js';

export const ROLES = ['all', 'api', 'worker'] as const;
export type Role = (typeof ROLES)[number];

export interface ServerConfig {
  port: number;
  host: string;
  dbPath: string;
  databaseUrl: string | null;
  /** PostgreSQL schema for Hookline's tables (HOOKLINE_DATABASE_SCHEMA); null: the server's search_path. */
  databaseSchema: string | null;
  dev: boolean;
  role: Role;
  adminKey: string | null;
  encryptionKey: string | null;
  /** The key being rotated away from (HOOKLINE_ENCRYPTION_KEY_PREVIOUS): secrets still sealed with it are re-sealed at start. */
  previousEncryptionKey: string | null;
  retryScheduleMs: number[];
  logLevel: string;
  /** HOOKLINE_ALLOW_ADDRESSES: blocks production mode may send to although not globally routable. */
  allowAddresses: Cidr[];
  /** HOOKLINE_API_RATE_LIMIT: per API key; null when `off`. */
  apiRateLimit: RateLimit | null;
}

/** A configuration mistake the user can fix; the CLI prints its message as one line. */
export class ConfigError extends Error {}

export interface ServeFlags {
  port?: string;
  host?: string;
  db?: string;
  databaseUrl?: string;
  dev?: boolean;
  role?: string;
}

function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    throw new ConfigError(`--port must be a number from 0 to 65535, got "${text}"`);
  }
  return Number(text);
}

/** Flags win over their env twins; env wins over defaults. */
export function resolveConfig(flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const role = flags.role ?? env.HOOKLINE_ROLE ?? 'all';
  if (!(ROLES as readonly string[]).includes(role)) {
    throw new ConfigError(`--role must be one of ${ROLES.join(', ')}, got "${role}"`);
  }
  let retryScheduleMs = DEFAULT_RETRY_SCHEDULE_MS;
  if (env.HOOKLINE_RETRY_SCHEDULE) {
    try {
      retryScheduleMs = parseDurationList(env.HOOKLINE_RETRY_SCHEDULE);
    } catch (err) {
      throw new ConfigError(`HOOKLINE_RETRY_SCHEDULE: ${(err as Error).message}`);
    }
  }
  let allowAddresses: Cidr[] = [];
  try {
    allowAddresses = parseCidrList(env.HOOKLINE_ALLOW_ADDRESSES ?? '');
  } catch (err) {
    throw new ConfigError(`HOOKLINE_ALLOW_ADDRESSES: ${(err as Error).message}`);
  }
  let apiRateLimit: RateLimit | null = DEFAULT_API_RATE_LIMIT;
  if (env.HOOKLINE_API_RATE_LIMIT) {
    try {
      apiRateLimit = parseRateLimit(env.HOOKLINE_API_RATE_LIMIT);
    } catch (err) {
      throw new ConfigError(`HOOKLINE_API_RATE_LIMIT: ${(err as Error).message}`);
    }
  }
  const databaseUrl = flags.databaseUrl ?? env.HOOKLINE_DATABASE_URL ?? null;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('--database-url must start with postgres:// or postgresql://');
  }
  const config: ServerConfig = {
    port: parsePort(flags.port ?? env.HOOKLINE_PORT ?? '8420'),
    host: flags.host ?? env.HOOKLINE_HOST ?? '127.0.0.1',
    dbPath: flags.db ?? env.HOOKLINE_DB ?? './hookline.db',
    databaseUrl,
    databaseSchema: env.HOOKLINE_DATABASE_SCHEMA || null,
    dev: flags.dev ?? ['1', 'true'].includes(env.HOOKLINE_DEV ?? ''),
    role: role as Role,
    adminKey: env.HOOKLINE_ADMIN_KEY || null,
    encryptionKey: env.HOOKLINE_ENCRYPTION_KEY || null,
    previousEncryptionKey: env.HOOKLINE_ENCRYPTION_KEY_PREVIOUS || null,
    retryScheduleMs,
    logLevel: env.HOOKLINE_LOG_LEVEL ?? 'info',
    allowAddresses,
    apiRateLimit,
  };
  if (config.databaseUrl === null && config.role !== 'all') {
    throw new ConfigError(
      '--role api|worker needs --database-url: an SQLite file serves one process (role all)',
    );
  }
  return config;
}

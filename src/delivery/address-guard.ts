import type { LookupAddress } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { buildConnector } from 'undici';
import { type AddressPolicy, isLocalhostName } from '../core/address-policy.js';

/** Every address a name resolves to. Injectable, so tests control DNS. */
export type HostLookup = (hostname: string) => Promise<readonly LookupAddress[]>;

export const systemLookup: HostLookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** Mapped by classifyError to the attempt error `blocked_address`. */
export class BlockedAddressError extends Error {
  readonly code = 'HOOKLINE_BLOCKED_ADDRESS';
}

export interface AddressGuardOptions {
  policy: AddressPolicy;
  lookup?: HostLookup;
  /** Registration-time lookups that take longer are given up (the name is accepted). */
  lookupTimeoutMs?: number;
}

const REGISTRATION_CACHE_MS = 10_000;
const REGISTRATION_CACHE_MAX = 1000;

/** A host as URLs write it, IPv6 literals without their brackets. */
export function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * Production mode's address guard: checks a target's host when a URL is registered, and the
 * resolved address of every connection the sender opens, so DNS rebinding cannot reach internal
 * services. Dev mode has none.
 */
export class AddressGuard {
  readonly #policy: AddressPolicy;
  readonly #lookup: HostLookup;
  readonly #timeoutMs: number;
  /** Registration answers for a few seconds: a batch of messages with one callback host resolves once. */
  readonly #recent = new Map<string, { at: number; addresses: Promise<readonly LookupAddress[]> }>();

  constructor(opts: AddressGuardOptions) {
    this.#policy = opts.policy;
    this.#lookup = opts.lookup ?? systemLookup;
    this.#timeoutMs = opts.lookupTimeoutMs ?? 2000;
  }

  /**
   * Registration check of a URL that already passed `urlProblem`: null when acceptable, else a
   * phrase for the 422 message. A name that does not resolve in time is accepted: every connection
   * is checked again.
   */
  async urlProblem(raw: string): Promise<string | null> {
    const host = unbracket(new URL(raw).hostname);
    if (isIP(host) !== 0) {
      const problem = this.#policy.problem(host);
      return problem && `host ${host} is not a globally routable address: ${problem}`;
    }
    if (isLocalhostName(host)) {
      const problem = this.#policy.problem('127.0.0.1');
      return problem && `host ${host} is a loopback name: ${problem}`;
    }
    for (const { address } of await this.#resolveRecent(host)) {
      const problem = this.#policy.problem(address);
      if (problem) return `host ${host} resolves to ${address}, not a globally routable address: ${problem}`;
    }
    return null;
  }

  #resolveRecent(host: string): Promise<readonly LookupAddress[]> {
    const now = Date.now();
    const hit = this.#recent.get(host);
    if (hit && now - hit.at < REGISTRATION_CACHE_MS) return hit.addresses;
    if (this.#recent.size >= REGISTRATION_CACHE_MAX) {
      for (const [key, entry] of this.#recent)
        if (now - entry.at >= REGISTRATION_CACHE_MS) this.#recent.delete(key);
      if (this.#recent.size >= REGISTRATION_CACHE_MAX) this.#recent.clear();
    }
    const addresses = this.#resolveWithTimeout(host);
    this.#recent.set(host, { at: now, addresses });
    return addresses;
  }

  #resolveWithTimeout(host: string): Promise<readonly LookupAddress[]> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve([]), this.#timeoutMs);
      timer.unref();
      this.#lookup(host).then(
        (list) => {
          clearTimeout(timer);
          resolve(list);
        },
        () => {
          clearTimeout(timer);
          resolve([]);
        },
      );
    });
  }

  /**
   * An undici connector that refuses a literal address at once and resolves names through a
   * checking lookup, before any TCP or TLS handshake. Connections are never made to an address
   * that was not checked: net.connect uses only what the lookup returns.
   */
  connector(options: buildConnector.BuildOptions = {}): buildConnector.connector {
    const connect = buildConnector({ ...options, lookup: this.#netLookup } as buildConnector.BuildOptions);
    return (opts, callback) => {
      // undici hands over an IPv6 literal without its brackets; net.connect skips lookup for literals.
      const host = unbracket(opts.hostname);
      if (isIP(host) !== 0) {
        const problem = this.#policy.problem(host);
        if (problem) {
          const err = new BlockedAddressError(`connection to ${host} refused: ${problem}`);
          process.nextTick(() => callback(err, null));
          return;
        }
      }
      connect(opts, callback);
    };
  }

  /** The `lookup` net.connect calls: every address of the answer must pass, or none is used. */
  readonly #netLookup: LookupFunction = (hostname, options, callback) => {
    this.#lookup(hostname).then(
      (list) => {
        for (const { address } of list) {
          const problem = this.#policy.problem(address);
          if (problem) {
            const err = new BlockedAddressError(`connection to ${hostname} (${address}) refused: ${problem}`);
            callback(err, '');
            return;
          }
        }
        const family = options.family === 4 || options.family === 6 ? options.family : 0;
        const usable = family === 0 ? [...list] : list.filter((a) => a.family === family);
        const first = usable[0];
        if (!first) {
          const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
          err.code = 'ENOTFOUND';
          callback(err, '');
          return;
        }
        if (options.all) callback(null, usable);
        else callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, ''),
    );
  };
}

import type { LookupAddress } from 'node:dns';
import { isIPv6 } from 'node:net';
import type { HostLookup } from '../../src/delivery/address-guard.js';

/**
 * DNS the tests control: a table of names to addresses, changeable at any time (a rebinding
 * attacker's server). A name not in the table fails like getaddrinfo's ENOTFOUND; `hang` never answers.
 */
export class FakeDns {
  readonly #table = new Map<string, readonly string[] | 'hang'>();
  readonly #later = new Map<string, readonly string[]>();
  readonly queries: string[] = [];

  set(name: string, answer: readonly string[] | 'hang'): this {
    this.#table.set(name, answer);
    return this;
  }

  /** Answers `first` once, then `later` (a rebinding server that needs no timing). */
  rebind(name: string, first: readonly string[], later: readonly string[]): this {
    this.#table.set(name, first);
    this.#later.set(name, later);
    return this;
  }

  readonly lookup: HostLookup = async (hostname) => {
    this.queries.push(hostname);
    const answer = this.#table.get(hostname);
    const later = this.#later.get(hostname);
    if (later) {
      this.#table.set(hostname, later);
      this.#later.delete(hostname);
    }
    if (answer === 'hang') return new Promise<readonly LookupAddress[]>(() => {});
    if (!answer) {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
    }
    return answer.map((address) => ({ address, family: isIPv6(address) ? 6 : 4 }));
  };
}

/**
 * Which IP addresses Hookline may connect to in production mode: the globally routable ones, plus
 * an operator's allow-list. Pure: no DNS, no sockets. Addresses are handled as bytes (4 or 16), so
 * every IPv6 spelling of one address is judged the same.
 *
 * Strict on purpose: for IPv6 only global unicast (2000::/3) minus its special-purpose blocks is
 * accepted, plus the forms that carry an IPv4 address (mapped, 6to4, NAT64), judged by that IPv4.
 */

export interface ParsedIp {
  family: 4 | 6;
  /** 4 bytes for IPv4, 16 for IPv6. */
  bytes: Uint8Array;
}

export interface Cidr extends ParsedIp {
  prefix: number;
  /** As the operator wrote it, for messages. */
  text: string;
}

const V4_PART_RE = /^(?:0|[1-9]\d{0,2})$/;
const V6_GROUP_RE = /^[0-9a-fA-F]{1,4}$/;

/** Canonical dotted-quad only (`new URL()` and the resolver already turn other spellings into it). */
function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (const [i, part] of parts.entries()) {
    if (!V4_PART_RE.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

function parseV6Groups(text: string): number[] | null {
  if (text === '') return [];
  const groups: number[] = [];
  const parts = text.split(':');
  for (const [i, part] of parts.entries()) {
    if (i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (!v4) return null;
      groups.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
    } else {
      if (!V6_GROUP_RE.test(part)) return null;
      groups.push(Number.parseInt(part, 16));
    }
  }
  return groups;
}

/** Any RFC 4291 text form, with an optional dotted IPv4 tail; a `%zone` suffix is ignored. */
function parseIpv6(text: string): Uint8Array | null {
  const zone = text.indexOf('%');
  const body = zone === -1 ? text : text.slice(0, zone);
  const halves = body.split('::');
  if (halves.length > 2) return null;
  const head = parseV6Groups(halves[0] ?? '');
  const tail = halves.length === 2 ? parseV6Groups(halves[1] ?? '') : [];
  if (!head || !tail) return null;
  const count = head.length + tail.length;
  if (halves.length === 2 ? count > 7 : count !== 8) return null;
  const groups = [...head, ...new Array<number>(8 - count).fill(0), ...tail];
  const out = new Uint8Array(16);
  for (const [i, g] of groups.entries()) {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  }
  return out;
}

/** An IP address in text (IPv6 without brackets), or null when the text is not one. */
export function parseIp(text: string): ParsedIp | null {
  if (text.includes(':')) {
    const bytes = parseIpv6(text);
    return bytes ? { family: 6, bytes } : null;
  }
  const bytes = parseIpv4(text);
  return bytes ? { family: 4, bytes } : null;
}

export function formatIpv4(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 4)).join('.');
}

function startsWith(bytes: Uint8Array, net: Uint8Array, prefix: number): boolean {
  const whole = prefix >> 3;
  for (let i = 0; i < whole; i++) if (bytes[i] !== net[i]) return false;
  const rest = prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((bytes[whole] ?? 0) & mask) === ((net[whole] ?? 0) & mask);
}

export function cidrContains(cidr: Cidr, ip: ParsedIp): boolean {
  return cidr.family === ip.family && startsWith(ip.bytes, cidr.bytes, cidr.prefix);
}

interface Range {
  bytes: Uint8Array;
  prefix: number;
  label: string;
}

function range(text: string, label: string): Range {
  const [addr = '', len = ''] = text.split('/');
  const ip = parseIp(addr);
  if (!ip) throw new Error(`address-policy: bad range ${text}`);
  return { bytes: ip.bytes, prefix: Number(len), label };
}

// IANA IPv4 Special-Purpose Address Registry, the blocks not marked globally reachable (plus the
// deprecated 6to4 relay anycast block). Order matters only for the label: specific ones first.
const V4_RANGES: readonly Range[] = [
  range('0.0.0.0/8', 'unspecified ("this network", 0.0.0.0/8)'),
  range('10.0.0.0/8', 'private (10.0.0.0/8)'),
  range('100.64.0.0/10', 'shared address space (CGNAT, 100.64.0.0/10)'),
  range('127.0.0.0/8', 'loopback (127.0.0.0/8)'),
  range('169.254.0.0/16', 'link-local (169.254.0.0/16, cloud metadata)'),
  range('172.16.0.0/12', 'private (172.16.0.0/12)'),
  range('192.0.0.0/24', 'IETF protocol assignments (192.0.0.0/24)'),
  range('192.0.2.0/24', 'documentation (192.0.2.0/24)'),
  range('192.88.99.0/24', 'deprecated 6to4 relay anycast (192.88.99.0/24)'),
  range('192.168.0.0/16', 'private (192.168.0.0/16)'),
  range('198.18.0.0/15', 'benchmarking (198.18.0.0/15)'),
  range('198.51.100.0/24', 'documentation (198.51.100.0/24)'),
  range('203.0.113.0/24', 'documentation (203.0.113.0/24)'),
  range('224.0.0.0/4', 'multicast (224.0.0.0/4)'),
  range('255.255.255.255/32', 'broadcast (255.255.255.255)'),
  range('240.0.0.0/4', 'reserved (240.0.0.0/4)'),
];

const MAPPED = range('::ffff:0:0/96', 'IPv4-mapped');
const NAT64 = range('64:ff9b::/96', 'NAT64');
const SIX_TO_FOUR = range('2002::/16', '6to4');

const V6_RANGES: readonly Range[] = [
  range('::/128', 'unspecified (::)'),
  range('::1/128', 'loopback (::1)'),
  range('::/96', 'IPv4-compatible (deprecated, ::/96)'),
  range('::ffff:0:0:0/96', 'IPv4-translated (::ffff:0:0:0/96)'),
  range('64:ff9b:1::/48', 'local-use NAT64 (64:ff9b:1::/48)'),
  range('100::/64', 'discard-only (100::/64)'),
  range('2001::/23', 'IETF protocol assignments (2001::/23, Teredo included)'),
  range('2001:db8::/32', 'documentation (2001:db8::/32)'),
  range('3fff::/20', 'documentation (3fff::/20)'),
  range('5f00::/16', 'SRv6 segment identifiers (5f00::/16)'),
  range('fc00::/7', 'unique-local (fc00::/7)'),
  range('fe80::/10', 'link-local (fe80::/10)'),
  range('fec0::/10', 'site-local (deprecated, fec0::/10)'),
  range('ff00::/8', 'multicast (ff00::/8)'),
];

function labelOf(bytes: Uint8Array, ranges: readonly Range[]): string | null {
  for (const r of ranges) if (startsWith(bytes, r.bytes, r.prefix)) return r.label;
  return null;
}

/** The IPv4 address an IPv6 address stands for on the wire (mapped, NAT64, 6to4), if any. */
export function embeddedIpv4(ip: ParsedIp): { form: string; v4: ParsedIp } | null {
  if (ip.family !== 6) return null;
  const b = ip.bytes;
  for (const r of [MAPPED, NAT64]) {
    if (startsWith(b, r.bytes, r.prefix)) return { form: r.label, v4: { family: 4, bytes: b.slice(12, 16) } };
  }
  if (startsWith(b, SIX_TO_FOUR.bytes, SIX_TO_FOUR.prefix)) {
    return { form: SIX_TO_FOUR.label, v4: { family: 4, bytes: b.slice(2, 6) } };
  }
  return null;
}

/** Why an address is not globally routable, or null when it is. */
export function nonGlobalReason(ip: ParsedIp): string | null {
  if (ip.family === 4) return labelOf(ip.bytes, V4_RANGES);
  const inner = embeddedIpv4(ip);
  if (inner) {
    const reason = nonGlobalReason(inner.v4);
    return reason && `${inner.form} form of ${formatIpv4(inner.v4.bytes)}: ${reason}`;
  }
  const label = labelOf(ip.bytes, V6_RANGES);
  if (label) return label;
  if (((ip.bytes[0] ?? 0) & 0xe0) !== 0x20) return 'outside global unicast (2000::/3)';
  return null;
}

/**
 * `10.1.0.0/16`, `fd00::/8`, or a single address. Host bits beyond the prefix are refused: they
 * are usually a typo for another network.
 */
export function parseCidr(text: string): Cidr {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const addr = slash === -1 ? trimmed : trimmed.slice(0, slash);
  const ip = parseIp(addr.startsWith('[') && addr.endsWith(']') ? addr.slice(1, -1) : addr);
  if (!ip) throw new Error(`"${trimmed}" is not an IP address or CIDR block`);
  const max = ip.family === 4 ? 32 : 128;
  let prefix = max;
  if (slash !== -1) {
    const len = trimmed.slice(slash + 1);
    if (!/^\d{1,3}$/.test(len) || Number(len) > max) {
      throw new Error(`"${trimmed}": the prefix length must be 0..${max}`);
    }
    prefix = Number(len);
  }
  for (let bit = prefix; bit < max; bit++) {
    if (((ip.bytes[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1) {
      throw new Error(`"${trimmed}": address bits are set beyond the /${prefix} prefix`);
    }
  }
  return { ...ip, prefix, text: trimmed };
}

/** Comma-separated CIDR blocks; empty entries are skipped. Throws naming the bad entry. */
export function parseCidrList(text: string): Cidr[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(parseCidr);
}

/** Globally routable addresses, plus the allow-list's blocks. */
export class AddressPolicy {
  readonly allow: readonly Cidr[];

  constructor(allow: readonly Cidr[] = []) {
    this.allow = allow;
  }

  /** null when connecting to `address` is fine; otherwise why not (a phrase for messages). */
  problem(address: string): string | null {
    const ip = parseIp(address);
    if (!ip) return 'not a valid IP address';
    const reason = nonGlobalReason(ip);
    if (reason === null) return null;
    // An IPv4-mapped address is the IPv4 address itself on a dual-stack socket.
    const inner = embeddedIpv4(ip);
    const mapped = inner && inner.form === MAPPED.label ? inner.v4 : null;
    if (this.allow.some((c) => cidrContains(c, ip) || (mapped !== null && cidrContains(c, mapped))))
      return null;
    return reason;
  }
}

/** `localhost` and `*.localhost` (RFC 6761): loopback whatever a resolver says. */
export function isLocalhostName(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost');
}

import dns from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import type { DestinationProblem } from '../errors';

// Where credman may send a request: every outbound call whose URL an admin can name (webhook
// deliveries, identity-provider token, discovery and registration endpoints) goes through this
// one guard. Without it credman would post from inside its own network: to the instance metadata
// service (169.254.169.254), to loopback services, to private ranges. The URL is checked when it
// is saved and again before each request, and the name is resolved by the lookup below, which
// refuses the connection if any address it resolves to is not allowed and hands the socket exactly
// the address it checked, so a DNS answer that changes between check and connect (rebinding)
// cannot get through. An allow-list (identity providers on a private network) names the hosts and
// ranges let through even so; nothing else is.

export type AddressClass = 'public' | 'unspecified' | 'loopback' | 'private' | 'sharedAddressSpace' | 'linkLocal' | 'multicast' | 'platform' | 'reserved';

/** A URL or address credman may not send to; `code` says why. Messages name no secret. */
export class DestinationError extends Error {
  constructor(
    readonly code: DestinationProblem,
    message: string,
  ) {
    super(message);
    this.name = 'DestinationError';
  }
}

export interface DestinationOptions {
  /** Loopback, private, link-local… and plain http allowed (local development only). */
  allowPrivateNetworks: boolean;
  /** Hosts and ranges allowed (http included) even when private networks are not. */
  allowList?: AllowList;
}

/** Parsed allow-list entries: exact host names, and address ranges (a single address is a /32 or /128). */
export interface AllowList {
  readonly names: ReadonlySet<string>;
  readonly ranges: readonly AddressRange[];
}

interface AddressRange {
  readonly version: 4 | 6;
  readonly prefix: number[];
  readonly bits: number;
}

type Range = readonly [prefix: number[], bits: number, cls: AddressClass];

// Most specific first: the first range that contains an address classifies it.
const V4: readonly Range[] = [
  // Azure's platform address (the host's wire server: DNS, DHCP, health probes, the VM agent), a
  // public address that only the platform answers, from inside Azure.
  [[168, 63, 129, 16], 32, 'platform'],
  [[0], 8, 'unspecified'], // "this network"
  [[10], 8, 'private'],
  [[100, 64], 10, 'sharedAddressSpace'], // CGNAT, RFC 6598
  [[127], 8, 'loopback'],
  [[169, 254], 16, 'linkLocal'], // includes 169.254.169.254, the cloud metadata service
  [[172, 16], 12, 'private'],
  [[192, 0, 0], 24, 'reserved'], // IETF protocol assignments
  [[192, 0, 2], 24, 'reserved'], // documentation
  [[192, 88, 99], 24, 'reserved'], // 6to4 relay anycast
  [[192, 168], 16, 'private'],
  [[198, 18], 15, 'reserved'], // benchmarking
  [[198, 51, 100], 24, 'reserved'],
  [[203, 0, 113], 24, 'reserved'],
  [[224], 4, 'multicast'],
  [[240], 4, 'reserved'], // includes 255.255.255.255
];

// IPv6 prefixes as 16-bit groups. Embedded IPv4 forms are classified by their IPv4 address.
const V6: readonly Range[] = [
  [[0xfc00], 7, 'private'], // unique local
  [[0xfe80], 10, 'linkLocal'],
  [[0xfec0], 10, 'private'], // deprecated site-local
  [[0xff00], 8, 'multicast'],
  [[0x2001, 0x0db8], 32, 'reserved'], // documentation
  [[0x0100], 64, 'reserved'], // discard-only
  [[0x2001, 0x0000], 23, 'reserved'], // IETF protocol assignments (Teredo, ORCHID…)
];

/** Classifies an IPv4 or IPv6 address (as `net.isIP` accepts it; an IPv6 zone is ignored). */
export function classifyAddress(address: string): AddressClass {
  const ip = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const version = isIP(ip);
  if (version === 4) return classifyV4(parseV4(ip));
  if (version === 6) return classifyV6(parseV6(ip));
  throw new TypeError('Not an IP address.');
}

export function isPublicAddress(address: string): boolean {
  return classifyAddress(address) === 'public';
}

function classifyV4(bytes: number[]): AddressClass {
  for (const [prefix, bits, cls] of V4) if (matches(bytes, prefix, bits, 8)) return cls;
  return 'public';
}

function classifyV6(groups: number[]): AddressClass {
  const first96Zero = groups.slice(0, 6).every((g) => g === 0);
  if (first96Zero && groups[6] === 0 && groups[7] === 0) return 'unspecified';
  if (first96Zero && groups[6] === 0 && groups[7] === 1) return 'loopback';
  // ::a.b.c.d (IPv4-compatible, deprecated), ::ffff:a.b.c.d (IPv4-mapped), 64:ff9b::a.b.c.d
  // (NAT64) and 2002:aabb:ccdd:: (6to4) all reach an IPv4 address: judge that address.
  const mapped = groups.slice(0, 5).every((g) => g === 0) && (groups[5] === 0 || groups[5] === 0xffff);
  const nat64 = groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0);
  if (mapped || nat64) return classifyV4(v4Of(groups[6], groups[7]));
  if (groups[0] === 0x64 && groups[1] === 0xff9b && groups[2] === 1) return 'reserved'; // local-use NAT64
  if (groups[0] === 0x2002) return classifyV4(v4Of(groups[1], groups[2]));
  for (const [prefix, bits, cls] of V6) if (matches(groups, prefix, bits, 16)) return cls;
  // Outside global unicast (2000::/3) nothing is routable on the internet.
  return (groups[0] & 0xe000) === 0x2000 ? 'public' : 'reserved';
}

function matches(value: number[], prefix: number[], bits: number, width: number): boolean {
  for (let i = 0; bits > 0; i++, bits -= width) {
    const mask = bits >= width ? (1 << width) - 1 : ((1 << width) - 1) ^ ((1 << (width - bits)) - 1);
    if (((value[i] ?? 0) & mask) !== ((prefix[i] ?? 0) & mask)) return false;
  }
  return true;
}

const v4Of = (hi: number, lo: number) => [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff];

function parseV4(ip: string): number[] {
  return ip.split('.').map(Number);
}

function parseV6(ip: string): number[] {
  let text = ip.toLowerCase();
  const tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = parseV4(dotted[1]);
    tail.push((a << 8) | b, (c << 8) | d);
    text = text.slice(0, -dotted[1].length);
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined];
  const hex = (s: string | undefined) =>
    s
      ? s
          .split(':')
          .filter(Boolean)
          .map((g) => parseInt(g, 16))
      : [];
  const left = hex(head);
  const right = [...hex(rest), ...tail];
  if (rest === undefined) return [...left, ...tail];
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

const normalName = (name: string) => name.toLowerCase().replace(/\.$/, '');

/** An address as [version, parts]; an IPv4-mapped IPv6 address as the IPv4 address it maps. */
function addressParts(address: string): [4 | 6, number[]] | undefined {
  const ip = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const version = isIP(ip);
  if (version === 4) return [4, parseV4(ip)];
  if (version !== 6) return undefined;
  const g = parseV6(ip);
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return [4, v4Of(g[6], g[7])];
  return [6, g];
}

/**
 * Parses allow-list entries: a host name (matched exactly, case-insensitively: no wildcards), an
 * IP address, or a CIDR range such as 10.20.0.0/16 or fd00:1::/48. Throws a TypeError giving the
 * position (not the text) of the first entry that is none of these.
 */
export function parseAllowList(entries: readonly string[]): AllowList {
  const names = new Set<string>();
  const ranges: AddressRange[] = [];
  for (const [i, raw] of entries.entries()) {
    const entry = raw.trim();
    const [addr, len, ...more] = entry.split('/');
    const parts = addressParts(addr);
    if (parts) {
      const [version] = parts;
      const max = version === 4 ? 32 : 128;
      const bits = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
      if (more.length || !(bits >= 0 && bits <= max)) throw new TypeError(`Entry ${i + 1} is not a valid CIDR range.`);
      ranges.push({ version, prefix: parts[1], bits });
    } else if (len === undefined && HOST_NAME.test(normalName(entry))) {
      names.add(normalName(entry));
    } else {
      throw new TypeError(`Entry ${i + 1} is neither a host name, an IP address nor a CIDR range.`);
    }
  }
  return { names, ranges };
}

/** Whether an address lies in one of the allow-list's ranges. */
export function inAllowedRange(list: AllowList | undefined, address: string): boolean {
  const parts = addressParts(address);
  if (!list || !parts) return false;
  const [version, value] = parts;
  return list.ranges.some((r) => r.version === version && matches(value, r.prefix, r.bits, version === 4 ? 8 : 16));
}

/** Whether the allow-list names this URL host: by name, or an IP literal in one of its ranges. */
export function allowListed(list: AllowList | undefined, hostname: string): boolean {
  if (!list) return false;
  const host = hostname.replace(/^\[|\]$/g, '');
  return isIP(host) ? inAllowedRange(list, host) : list.names.has(normalName(host));
}

const LOCAL_NAME = /(^|\.)localhost\.?$/i;

/**
 * Checks an outbound URL: absolute http(s) without credentials, https unless private networks are
 * allowed (or the host is allow-listed), and a host that is neither a non-public IP literal nor a
 * localhost name (unless allow-listed). Names are resolved only when connecting (see guardedLookup).
 */
export function checkDestination(raw: string, opts: DestinationOptions): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DestinationError('InvalidUrl', 'The URL is not an absolute URL.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new DestinationError('SchemeNotAllowed', 'The URL must use https.');
  }
  if (url.username || url.password) {
    throw new DestinationError('CredentialsInUrl', 'The URL must not carry a user name or password.');
  }
  if (!url.hostname) throw new DestinationError('InvalidUrl', 'The URL has no host.');
  // An allow-listed host is one the operator named: private addresses and http allowed.
  if (opts.allowPrivateNetworks || allowListed(opts.allowList, url.hostname)) return url;
  if (url.protocol === 'http:') {
    throw new DestinationError('SchemeNotAllowed', 'The URL must use https (http is allowed only where private networks are).');
  }
  // WHATWG URL parsing has already turned 2130706433, 0x7f.1 and the like into dotted form.
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) && !isPublicAddress(host)) {
    throw new DestinationError('DestinationNotAllowed', `The URL names a ${classifyAddress(host)} address; credman sends requests to public addresses only.`);
  }
  if (LOCAL_NAME.test(host)) {
    throw new DestinationError('DestinationNotAllowed', 'The URL names this machine; credman sends requests to public addresses only.');
  }
  return url;
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a name to all its addresses (dns.lookup by default; tests inject their own). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

/**
 * A `lookup` for http(s).Agent: resolves every address of the name and fails the connection
 * with DestinationNotAllowed if any is not public (unless private networks are allowed, the name
 * is allow-listed or the address lies in an allow-listed range), so the socket connects only to
 * an address that was checked — the one this function returns. (Node calls no lookup for an IP
 * literal: checkDestination before each request covers those.)
 */
export function guardedLookup(opts: DestinationOptions & { resolve?: Resolver }): LookupFunction {
  const resolve = opts.resolve ?? systemResolver;
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (all) => {
        const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
        const addresses = family === 4 || family === 6 ? all.filter((a) => a.family === family) : all;
        const open = opts.allowPrivateNetworks || (!isIP(hostname) && opts.allowList?.names.has(normalName(hostname)) === true);
        const refused = open ? undefined : all.find((a) => !isIP(a.address) || (!isPublicAddress(a.address) && !inAllowedRange(opts.allowList, a.address)));
        if (refused || addresses.length === 0) {
          const err = refused
            ? new DestinationError('DestinationNotAllowed', 'The host resolves to an address that is not public.')
            : Object.assign(new Error('No address for the host.'), { code: 'ENOTFOUND' });
          callback(err, '', 0);
          return;
        }
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0].address, addresses[0].family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}

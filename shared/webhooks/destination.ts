import dns from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';

// Where a webhook may be sent. An admin names the URL, so without a guard credman would post
// from inside its own network: to the instance metadata service (169.254.169.254), to loopback
// services, to private ranges. The URL is checked when it is saved and again before each
// delivery, and the name is resolved by the lookup below, which refuses the connection if any
// address it resolves to is not public and hands the socket exactly the address it checked, so
// a DNS answer that changes between check and connect (rebinding) cannot get through.

export type AddressClass =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'sharedAddressSpace'
  | 'linkLocal'
  | 'multicast'
  | 'platform'
  | 'reserved';

export type DestinationProblem = 'InvalidUrl' | 'SchemeNotAllowed' | 'CredentialsInUrl' | 'DestinationNotAllowed';

/** A URL or address a webhook may not be sent to; `code` says why. Messages name no secret. */
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
  const hex = (s: string | undefined) => (s ? s.split(':').filter(Boolean).map((g) => parseInt(g, 16)) : []);
  const left = hex(head);
  const right = [...hex(rest), ...tail];
  if (rest === undefined) return [...left, ...tail];
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

const LOCAL_NAME = /(^|\.)localhost\.?$/i;

/**
 * Checks a webhook URL: absolute http(s) without credentials, https unless private networks are
 * allowed, and a host that is neither a non-public IP literal nor a localhost name. Names are
 * resolved only when connecting (see guardedLookup).
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
  if (url.protocol === 'http:' && !opts.allowPrivateNetworks) {
    throw new DestinationError('SchemeNotAllowed', 'The URL must use https (http is allowed only where private networks are).');
  }
  if (url.username || url.password) {
    throw new DestinationError('CredentialsInUrl', 'The URL must not carry a user name or password; use the subscription secret to authenticate deliveries.');
  }
  if (!url.hostname) throw new DestinationError('InvalidUrl', 'The URL has no host.');
  if (!opts.allowPrivateNetworks) {
    // WHATWG URL parsing has already turned 2130706433, 0x7f.1 and the like into dotted form.
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) && !isPublicAddress(host)) {
      throw new DestinationError('DestinationNotAllowed', `The URL names a ${classifyAddress(host)} address; webhooks go to public addresses only.`);
    }
    if (LOCAL_NAME.test(host)) {
      throw new DestinationError('DestinationNotAllowed', 'The URL names this machine; webhooks go to public addresses only.');
    }
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
 * with DestinationNotAllowed if any is not public (unless private networks are allowed), so the
 * socket connects only to an address that was checked — the one this function returns.
 */
export function guardedLookup(opts: DestinationOptions & { resolve?: Resolver }): LookupFunction {
  const resolve = opts.resolve ?? systemResolver;
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (all) => {
        const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
        const addresses = family === 4 || family === 6 ? all.filter((a) => a.family === family) : all;
        const refused = opts.allowPrivateNetworks ? undefined : all.find((a) => !isIP(a.address) || !isPublicAddress(a.address));
        if (refused || addresses.length === 0) {
          const err = refused
            ? new DestinationError('DestinationNotAllowed', 'The webhook host resolves to an address that is not public.')
            : Object.assign(new Error(`No address for the webhook host.`), { code: 'ENOTFOUND' });
          callback(err as NodeJS.ErrnoException, '', 0);
          return;
        }
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0].address, addresses[0].family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}

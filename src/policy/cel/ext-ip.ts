import { celFunc, celMethod, CelScalar, type CelFunc } from '@bufbuild/cel';
import type { ReflectMessage } from '@bufbuild/protobuf/reflect';
import { formatIP, maskAddr, parseCIDR, parseIP, sameBytes } from './ip-parse.ts';
import { CIDR, CIDRDesc, fieldsOf, IP, IPDesc, makeObject, type CIDRShape, type IPShape } from './k8s-types.ts';

/**
 * Kubernetes `ip` and `cidr` libraries (net.IP, net.CIDR).
 * https://kubernetes.io/docs/reference/using-api/cel/#kubernetes-ip-address-library
 * https://kubernetes.io/docs/reference/using-api/cel/#kubernetes-cidr-library
 *
 * `containsCIDR` compares masked networks, as fixed in Kubernetes PR #130450
 * (earlier releases wrongly rejected subnets whose address differed).
 */

const { BOOL, INT, STRING } = CelScalar;

export function ipValue(addr: Uint8Array): ReflectMessage {
  return makeObject<IPShape>(IPDesc, { addr });
}

export function cidrValue(addr: Uint8Array, bits: number): ReflectMessage {
  return makeObject<CIDRShape>(CIDRDesc, { addr, bits });
}

function addrOf(v: ReflectMessage): Uint8Array {
  return fieldsOf<IPShape>(v).addr;
}

function prefixOf(v: ReflectMessage): CIDRShape {
  return fieldsOf<CIDRShape>(v);
}

function startsWith(addr: Uint8Array, value: number, mask: number): boolean {
  return ((((addr[0] ?? 0) << 8) | (addr[1] ?? 0)) & mask) === value;
}

function isLoopback(a: Uint8Array): boolean {
  return a.length === 4 ? a[0] === 127 : a.every((b, i) => b === (i === 15 ? 1 : 0));
}

function isUnspecified(a: Uint8Array): boolean {
  return a.every((b) => b === 0);
}

function isMulticast(a: Uint8Array): boolean {
  return a.length === 4 ? ((a[0] ?? 0) & 0xf0) === 0xe0 : a[0] === 0xff;
}

function isLinkLocalUnicast(a: Uint8Array): boolean {
  return a.length === 4 ? a[0] === 169 && a[1] === 254 : startsWith(a, 0xfe80, 0xffc0);
}

function isLinkLocalMulticast(a: Uint8Array): boolean {
  return a.length === 4 ? a[0] === 224 && a[1] === 0 && a[2] === 0 : startsWith(a, 0xff02, 0xff0f);
}

function isGlobalUnicast(a: Uint8Array): boolean {
  if (a.length === 4 && (isUnspecified(a) || a.every((b) => b === 255))) return false;
  return !isUnspecified(a) && !isLoopback(a) && !isMulticast(a) && !isLinkLocalUnicast(a);
}

function containsIP(cidr: CIDRShape, addr: Uint8Array): boolean {
  return cidr.addr.length === addr.length && sameBytes(maskAddr(cidr.addr, cidr.bits), maskAddr(addr, cidr.bits));
}

function containsCIDR(outer: CIDRShape, inner: CIDRShape): boolean {
  return outer.bits <= inner.bits && containsIP(outer, inner.addr);
}

function ipCheck(check: (a: Uint8Array) => boolean) {
  return function (this: ReflectMessage): boolean {
    return check(addrOf(this));
  };
}

function parses(parse: () => unknown): boolean {
  try {
    parse();
    return true;
  } catch {
    return false;
  }
}

export const ipFuncs: readonly CelFunc[] = [
  celFunc('ip', [STRING], IP, (s) => ipValue(parseIP(s))),
  celFunc('isIP', [STRING], BOOL, (s) => parses(() => parseIP(s))),
  celFunc('ip.isCanonical', [STRING], BOOL, (s) => formatIP(parseIP(s)) === s),
  celFunc('string', [IP], STRING, (ip) => formatIP(addrOf(ip))),
  celMethod('family', IP, [], INT, function () {
    return addrOf(this).length === 4 ? 4n : 6n;
  }),
  celMethod('isUnspecified', IP, [], BOOL, ipCheck(isUnspecified)),
  celMethod('isLoopback', IP, [], BOOL, ipCheck(isLoopback)),
  celMethod('isLinkLocalMulticast', IP, [], BOOL, ipCheck(isLinkLocalMulticast)),
  celMethod('isLinkLocalUnicast', IP, [], BOOL, ipCheck(isLinkLocalUnicast)),
  celMethod('isGlobalUnicast', IP, [], BOOL, ipCheck(isGlobalUnicast)),

  celFunc('cidr', [STRING], CIDR, (s) => {
    const { addr, bits } = parseCIDR(s);
    return cidrValue(addr, bits);
  }),
  celFunc('isCIDR', [STRING], BOOL, (s) => parses(() => parseCIDR(s))),
  celFunc('string', [CIDR], STRING, (c) => `${formatIP(prefixOf(c).addr)}/${prefixOf(c).bits}`),
  celMethod('containsIP', CIDR, [IP], BOOL, function (ip) {
    return containsIP(prefixOf(this), addrOf(ip));
  }),
  celMethod('containsIP', CIDR, [STRING], BOOL, function (s) {
    return containsIP(prefixOf(this), parseIP(s));
  }),
  celMethod('containsCIDR', CIDR, [CIDR], BOOL, function (c) {
    return containsCIDR(prefixOf(this), prefixOf(c));
  }),
  celMethod('containsCIDR', CIDR, [STRING], BOOL, function (s) {
    return containsCIDR(prefixOf(this), parseCIDR(s));
  }),
  celMethod('ip', CIDR, [], IP, function () {
    return ipValue(prefixOf(this).addr);
  }),
  celMethod('prefixLength', CIDR, [], INT, function () {
    return BigInt(prefixOf(this).bits);
  }),
  celMethod('masked', CIDR, [], CIDR, function () {
    const { addr, bits } = prefixOf(this);
    return cidrValue(maskAddr(addr, bits), bits);
  }),
];

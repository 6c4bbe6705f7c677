/**
 * IP address and prefix parsing with Go net/netip semantics, plus the two
 * Kubernetes restrictions: no zones and no IPv4-mapped IPv6 addresses.
 * Addresses are 4 or 16 bytes; the family is the length.
 */

function ipv4(s: string): Uint8Array {
  const fields = s.split('.');
  if (fields.length !== 4) throw new Error(fields.length < 4 ? 'IPv4 address too short' : 'IPv4 address too long');
  const out = new Uint8Array(4);
  fields.forEach((f, i) => {
    if (f.length === 0) throw new Error('IPv4 field must have at least one digit');
    if (!/^[0-9]{1,3}$/.test(f)) throw new Error(`unexpected character in IPv4 field ${JSON.stringify(f)}`);
    if (f.length > 1 && f[0] === '0') throw new Error('IPv4 field has octet with leading zero');
    const v = Number(f);
    if (v > 255) throw new Error('IPv4 field has value >255');
    out[i] = v;
  });
  return out;
}

function ipv6(s: string): Uint8Array {
  const out = new Uint8Array(16);
  let i = 0; // byte index
  let ellipsis = -1; // byte index of "::"
  let pos = 0;
  if (s.startsWith('::')) {
    ellipsis = 0;
    pos = 2;
    if (pos === s.length) return out;
  }
  while (i < 16) {
    const m = /^[0-9a-fA-F]{1,4}/.exec(s.slice(pos));
    if (m === null) throw new Error('each colon-separated field must have at least one digit');
    const field = m[0];
    const after = s[pos + field.length];
    if (after === '.') {
      // Embedded IPv4 in the last 32 bits.
      if (ellipsis < 0 && i !== 12) throw new Error('embedded IPv4 address must replace the final 2 fields of the address');
      if (i + 4 > 16) throw new Error('too many hex fields to fit an embedded IPv4 at the end of the address');
      out.set(ipv4(s.slice(pos)), i);
      i += 4;
      pos = s.length;
      break;
    }
    if (field.length > 4) throw new Error('each group must have 4 or less digits');
    const v = Number.parseInt(field, 16);
    out[i] = v >> 8;
    out[i + 1] = v & 0xff;
    i += 2;
    pos += field.length;
    if (pos === s.length) break;
    if (s[pos] !== ':') throw new Error('unexpected character, want colon');
    if (pos + 1 === s.length) throw new Error('colon must be followed by more characters');
    pos++;
    if (s[pos] === ':') {
      if (ellipsis >= 0) throw new Error('multiple :: in address');
      ellipsis = i;
      pos++;
      if (pos === s.length) break;
    }
  }
  if (pos !== s.length) throw new Error('trailing garbage after address');
  if (i < 16) {
    if (ellipsis < 0) throw new Error('address string too short');
    const n = 16 - i;
    out.copyWithin(ellipsis + n, ellipsis, i);
    out.fill(0, ellipsis, ellipsis + n);
  } else if (ellipsis >= 0) {
    throw new Error('the :: must expand to at least one field of zeros');
  }
  return out;
}

/** netip.ParseAddr: the first '.' or ':' decides the family. Zones are reported separately. */
function parseAddr(s: string): { addr: Uint8Array; zone: string } {
  for (const c of s) {
    if (c === '.') return { addr: ipv4(s), zone: '' };
    if (c === ':') {
      const pct = s.indexOf('%');
      if (pct >= 0 && pct === s.length - 1) throw new Error('zone must be a non-empty string');
      return { addr: ipv6(pct < 0 ? s : s.slice(0, pct)), zone: pct < 0 ? '' : s.slice(pct + 1) };
    }
    if (c === '%') throw new Error('missing IPv6 address');
  }
  throw new Error('unable to parse IP');
}

/** True for ::ffff:0:0/96, which Kubernetes refuses. */
export function is4In6(addr: Uint8Array): boolean {
  if (addr.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (addr[i] !== 0) return false;
  return addr[10] === 0xff && addr[11] === 0xff;
}

/** Kubernetes' parseIPAddr: messages match the Kubernetes library. */
export function parseIP(raw: string): Uint8Array {
  let parsed: { addr: Uint8Array; zone: string };
  try {
    parsed = parseAddr(raw);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new Error(`IP Address ${JSON.stringify(raw)} parse error during conversion from string: ParseAddr(${JSON.stringify(raw)}): ${why}`);
  }
  if (parsed.zone !== '') throw new Error(`IP address ${JSON.stringify(raw)} with zone value is not allowed`);
  if (is4In6(parsed.addr)) throw new Error(`IPv4-mapped IPv6 address ${JSON.stringify(raw)} is not allowed`);
  return parsed.addr;
}

/** Kubernetes' parseCIDR (netip.ParsePrefix). Host bits after the prefix are kept, as Kubernetes does. */
export function parseCIDR(raw: string): { addr: Uint8Array; bits: number } {
  const fail = (why: string): never => {
    throw new Error(`network address parse error during conversion from string: netip.ParsePrefix(${JSON.stringify(raw)}): ${why}`);
  };
  const slash = raw.lastIndexOf('/');
  if (slash < 0) fail('no \'/\'');
  const addrPart = raw.slice(0, slash);
  const bitsPart = raw.slice(slash + 1);
  let parsed: { addr: Uint8Array; zone: string } = { addr: new Uint8Array(0), zone: '' };
  try {
    parsed = parseAddr(addrPart);
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  }
  if (parsed.zone !== '') fail('IPv6 zones cannot be present in a prefix');
  if (!/^(0|[1-9][0-9]*)$/.test(bitsPart)) fail(`bad bits after slash: ${JSON.stringify(bitsPart)}`);
  const bits = Number(bitsPart);
  if (bits > parsed.addr.length * 8) fail(`prefix length out of range`);
  if (is4In6(parsed.addr)) throw new Error(`IPv4-mapped IPv6 address ${JSON.stringify(raw)} is not allowed`);
  return { addr: parsed.addr, bits };
}

/** The address with every bit after `bits` cleared. */
export function maskAddr(addr: Uint8Array, bits: number): Uint8Array {
  const out = new Uint8Array(addr);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    out[i] = (out[i] as number) & ((0xff00 >> keep) & 0xff);
  }
  return out;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** netip.Addr.String: dotted IPv4, RFC 5952 IPv6. */
export function formatIP(addr: Uint8Array): string {
  if (addr.length === 4) return Array.from(addr).join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((addr[i] as number) << 8) | (addr[i + 1] as number));
  // Longest run of two or more zero groups, first one on ties.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i >= 2 && j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

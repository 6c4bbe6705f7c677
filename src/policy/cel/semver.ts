/**
 * Semantic Versioning 2.0.0 parsing and precedence, matching the
 * github.com/blang/semver/v4 parser that Kubernetes' CEL semver library uses.
 */

export interface Semver {
  readonly major: bigint;
  readonly minor: bigint;
  readonly patch: bigint;
  /** Pre-release identifiers; numeric ones are canonical decimal strings. */
  readonly pre: readonly string[];
  readonly build: readonly string[];
}

const MAX_UINT64 = (1n << 64n) - 1n;
const NUMERIC = /^[0-9]+$/;
const ALPHANUMERIC = /^[0-9A-Za-z-]+$/;

function parseNumber(s: string, what: string): bigint {
  if (!NUMERIC.test(s)) throw new Error(`Invalid character(s) found in ${what} "${s}"`);
  if (s.length > 1 && s[0] === '0') throw new Error(`${what} number must not contain leading zeroes "${s}"`);
  const n = BigInt(s);
  if (n > MAX_UINT64) throw new Error(`${what} number "${s}" is out of range`);
  return n;
}

/** Strict SemVer 2.0.0. Throws Error on invalid input. */
export function parseSemver(s: string): Semver {
  if (s.length === 0) throw new Error('Version string empty');
  const parts = splitN(s, '.', 3);
  if (parts.length !== 3) throw new Error('No Major.Minor.Patch elements found');
  const major = parseNumber(parts[0] as string, 'Major');
  const minor = parseNumber(parts[1] as string, 'Minor');
  let rest = parts[2] as string;
  let build: string[] = [];
  const plus = rest.indexOf('+');
  if (plus >= 0) {
    build = rest.slice(plus + 1).split('.');
    rest = rest.slice(0, plus);
  }
  let pre: string[] = [];
  const dash = rest.indexOf('-');
  if (dash >= 0) {
    pre = rest.slice(dash + 1).split('.');
    rest = rest.slice(0, dash);
  }
  const patch = parseNumber(rest, 'Patch');
  for (const p of pre) {
    if (p.length === 0) throw new Error('Prerelease is empty');
    if (NUMERIC.test(p)) parseNumber(p, 'Prerelease');
    else if (!ALPHANUMERIC.test(p)) throw new Error(`Invalid character(s) found in prerelease "${p}"`);
  }
  for (const b of build) {
    if (b.length === 0) throw new Error('Build meta data is empty');
    if (!ALPHANUMERIC.test(b)) throw new Error(`Invalid character(s) found in build meta data "${b}"`);
  }
  return { major, minor, patch, pre, build };
}

/**
 * Kubernetes' `semver(s, true)` normalisation: drop a leading "v", fill a
 * missing minor/patch with 0 and strip leading zeros, then parse strictly.
 */
export function parseSemverNormalized(input: string): Semver {
  const s = input.startsWith('v') ? input.slice(1) : input;
  const parts = splitN(s, '.', 3).map((p) => {
    if (p.length <= 1) return p;
    const trimmed = p.replace(/^0+/, '');
    return trimmed.length === 0 || !/^[0-9]/.test(trimmed) ? `0${trimmed}` : trimmed;
  });
  if (parts.length < 3) {
    if (/[+-]/.test(parts[parts.length - 1] as string)) {
      throw new Error('short version cannot contain PreRelease/Build meta data');
    }
    while (parts.length < 3) parts.push('0');
  }
  return parseSemver(parts.join('.'));
}

/** Go's strings.SplitN. */
function splitN(s: string, sep: string, n: number): string[] {
  const out: string[] = [];
  let rest = s;
  while (out.length < n - 1) {
    const i = rest.indexOf(sep);
    if (i < 0) break;
    out.push(rest.slice(0, i));
    rest = rest.slice(i + sep.length);
  }
  out.push(rest);
  return out;
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function comparePre(a: string, b: string): number {
  const an = NUMERIC.test(a);
  const bn = NUMERIC.test(b);
  if (an && bn) return cmp(BigInt(a), BigInt(b));
  if (an) return -1;
  if (bn) return 1;
  // ASCII identifiers: code-unit order is byte order.
  return a < b ? -1 : a > b ? 1 : 0;
}

/** SemVer 2.0.0 precedence (build metadata ignored): -1, 0 or 1. */
export function compareSemver(a: Pick<Semver, 'major' | 'minor' | 'patch' | 'pre'>, b: Pick<Semver, 'major' | 'minor' | 'patch' | 'pre'>): number {
  const core = cmp(a.major, b.major) || cmp(a.minor, b.minor) || cmp(a.patch, b.patch);
  if (core !== 0) return core;
  if (a.pre.length === 0 && b.pre.length === 0) return 0;
  if (a.pre.length === 0) return 1;
  if (b.pre.length === 0) return -1;
  const n = Math.min(a.pre.length, b.pre.length);
  for (let i = 0; i < n; i++) {
    const c = comparePre(a.pre[i] as string, b.pre[i] as string);
    if (c !== 0) return c;
  }
  return a.pre.length === b.pre.length ? 0 : a.pre.length < b.pre.length ? -1 : 1;
}

export function formatSemver(v: Pick<Semver, 'major' | 'minor' | 'patch' | 'pre'>): string {
  const core = `${v.major}.${v.minor}.${v.patch}`;
  return v.pre.length > 0 ? `${core}-${v.pre.join('.')}` : core;
}

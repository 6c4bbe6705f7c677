import { celFunc, celMethod, CelScalar, type CelFunc } from '@bufbuild/cel';
import type { ReflectMessage } from '@bufbuild/protobuf/reflect';
import { fieldsOf, makeObject, SEMVER, SemverDesc, type SemverShape } from './k8s-types.ts';
import { compareSemver, parseSemver, parseSemverNormalized, type Semver } from './semver.ts';

/**
 * Kubernetes `semver` library, including the `normalize` argument.
 * https://kubernetes.io/docs/reference/using-api/cel/#kubernetes-semver-library
 *
 * Build metadata is parsed and validated but not kept: it has no accessor and
 * does not take part in precedence or equality (Go's Version.EQ).
 */

const { BOOL, INT, STRING } = CelScalar;
const MAX_INT64 = (1n << 63n) - 1n;

export function semverValue(v: Semver): ReflectMessage {
  return makeObject<SemverShape>(SemverDesc, { major: v.major, minor: v.minor, patch: v.patch, pre: [...v.pre] });
}

function valid(parse: () => unknown): boolean {
  try {
    parse();
    return true;
  } catch {
    return false;
  }
}

function asInt(v: bigint): bigint {
  // Go converts uint64 to int64; refuse rather than wrap around.
  if (v > MAX_INT64) throw new Error(`version number ${v} does not fit in an int`);
  return v;
}

function cmp(a: ReflectMessage, b: ReflectMessage): number {
  return compareSemver(fieldsOf<SemverShape>(a), fieldsOf<SemverShape>(b));
}

export const semverFuncs: readonly CelFunc[] = [
  celFunc('semver', [STRING], SEMVER, (s) => semverValue(parseSemver(s))),
  celFunc('semver', [STRING, BOOL], SEMVER, (s, normalize) => semverValue(normalize ? parseSemverNormalized(s) : parseSemver(s))),
  celFunc('isSemver', [STRING], BOOL, (s) => valid(() => parseSemver(s))),
  celFunc('isSemver', [STRING, BOOL], BOOL, (s, normalize) => valid(() => (normalize ? parseSemverNormalized(s) : parseSemver(s)))),
  celMethod('major', SEMVER, [], INT, function () {
    return asInt(fieldsOf<SemverShape>(this).major);
  }),
  celMethod('minor', SEMVER, [], INT, function () {
    return asInt(fieldsOf<SemverShape>(this).minor);
  }),
  celMethod('patch', SEMVER, [], INT, function () {
    return asInt(fieldsOf<SemverShape>(this).patch);
  }),
  celMethod('isGreaterThan', SEMVER, [SEMVER], BOOL, function (o) {
    return cmp(this, o) === 1;
  }),
  celMethod('isLessThan', SEMVER, [SEMVER], BOOL, function (o) {
    return cmp(this, o) === -1;
  }),
  celMethod('compareTo', SEMVER, [SEMVER], INT, function (o) {
    return BigInt(cmp(this, o));
  }),
];

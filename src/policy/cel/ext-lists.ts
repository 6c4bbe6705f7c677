import { celMethod, CelScalar, listType, type CelFunc, type CelList, type CelValue } from '@bufbuild/cel';
import { celAdd, celEquals, celGreater, celLess } from './std-ops.ts';

/**
 * Kubernetes `lists` library: isSorted, sum, min, max, indexOf, lastIndexOf.
 * https://kubernetes.io/docs/reference/using-api/cel/#kubernetes-list-library
 *
 * Without a type checker the element type is known only at run time, so the
 * overloads are on list(dyn) and mixed or non-comparable elements fail with a
 * "no matching overload" error, as the CEL operators do.
 */

const LIST = listType(CelScalar.DYN);
const { BOOL, DYN, INT } = CelScalar;

function extreme(list: CelList, name: string, better: (candidate: CelValue, current: CelValue) => boolean): CelValue {
  let result: CelValue | undefined;
  for (const v of list) {
    if (result === undefined || better(v, result)) result = v;
  }
  if (result === undefined) throw new Error(`${name} called on empty list`);
  return result;
}

export const listFuncs: readonly CelFunc[] = [
  celMethod('isSorted', LIST, [], BOOL, function () {
    let prev: CelValue | undefined;
    for (const v of this) {
      if (prev !== undefined && celGreater(prev, v)) return false;
      prev = v;
    }
    return true;
  }),
  celMethod('sum', LIST, [], DYN, function () {
    // An empty list has no element type to take the zero from; Kubernetes returns int 0.
    let acc: CelValue | undefined;
    for (const v of this) acc = acc === undefined ? v : celAdd(acc, v);
    return acc ?? 0n;
  }),
  // Ties keep the first element, as in Kubernetes.
  celMethod('min', LIST, [], DYN, function () {
    return extreme(this, 'min', celLess);
  }),
  celMethod('max', LIST, [], DYN, function () {
    return extreme(this, 'max', celGreater);
  }),
  celMethod('indexOf', LIST, [DYN], INT, function (x) {
    for (let i = 0; i < this.size; i++) {
      if (celEquals(this.get(i) as CelValue, x)) return BigInt(i);
    }
    return -1n;
  }),
  celMethod('lastIndexOf', LIST, [DYN], INT, function (x) {
    for (let i = this.size - 1; i >= 0; i--) {
      if (celEquals(this.get(i) as CelValue, x)) return BigInt(i);
    }
    return -1n;
  }),
];

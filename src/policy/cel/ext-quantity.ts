import { celFunc, celMethod, CelScalar, type CelFunc } from '@bufbuild/cel';
import type { ReflectMessage } from '@bufbuild/protobuf/reflect';
import { fieldsOf, makeObject, QUANTITY, QuantityDesc, type QuantityShape } from './k8s-types.ts';
import { parseQuantity, QUANTITY_NANO, quantityAsFloat, quantityAsInt64 } from './quantity.ts';

/**
 * Kubernetes `quantity` library.
 * https://kubernetes.io/docs/reference/using-api/cel/#kubernetes-quantity-library
 *
 * Deviation: `isInteger()`/`asInteger()` follow the documented meaning ("the
 * value is an int64") rather than Go's representation quirk, so
 * quantity('1000m').isInteger() is true here (false in Kubernetes).
 */

const { BOOL, DOUBLE, INT, STRING } = CelScalar;

function nanosOf(q: ReflectMessage): bigint {
  return BigInt(fieldsOf<QuantityShape>(q).nanos);
}

export function quantityValue(nanos: bigint): ReflectMessage {
  return makeObject<QuantityShape>(QuantityDesc, { nanos: nanos.toString() });
}

export function quantityNanos(q: ReflectMessage): bigint {
  return nanosOf(q);
}

function compare(a: ReflectMessage, b: ReflectMessage): bigint {
  const x = nanosOf(a);
  const y = nanosOf(b);
  return x < y ? -1n : x > y ? 1n : 0n;
}

export const quantityFuncs: readonly CelFunc[] = [
  celFunc('quantity', [STRING], QUANTITY, (s) => quantityValue(parseQuantity(s))),
  celFunc('isQuantity', [STRING], BOOL, (s) => {
    try {
      parseQuantity(s);
      return true;
    } catch {
      return false;
    }
  }),
  celMethod('sign', QUANTITY, [], INT, function () {
    const n = nanosOf(this);
    return n < 0n ? -1n : n > 0n ? 1n : 0n;
  }),
  celMethod('isGreaterThan', QUANTITY, [QUANTITY], BOOL, function (o) {
    return compare(this, o) === 1n;
  }),
  celMethod('isLessThan', QUANTITY, [QUANTITY], BOOL, function (o) {
    return compare(this, o) === -1n;
  }),
  celMethod('compareTo', QUANTITY, [QUANTITY], INT, function (o) {
    return compare(this, o);
  }),
  celMethod('add', QUANTITY, [QUANTITY], QUANTITY, function (o) {
    return quantityValue(nanosOf(this) + nanosOf(o));
  }),
  celMethod('add', QUANTITY, [INT], QUANTITY, function (n) {
    return quantityValue(nanosOf(this) + n * QUANTITY_NANO);
  }),
  celMethod('sub', QUANTITY, [QUANTITY], QUANTITY, function (o) {
    return quantityValue(nanosOf(this) - nanosOf(o));
  }),
  celMethod('sub', QUANTITY, [INT], QUANTITY, function (n) {
    return quantityValue(nanosOf(this) - n * QUANTITY_NANO);
  }),
  celMethod('isInteger', QUANTITY, [], BOOL, function () {
    return quantityAsInt64(nanosOf(this)) !== undefined;
  }),
  celMethod('asInteger', QUANTITY, [], INT, function () {
    const v = quantityAsInt64(nanosOf(this));
    if (v === undefined) throw new Error('cannot convert value to integer');
    return v;
  }),
  celMethod('asApproximateFloat', QUANTITY, [], DOUBLE, function () {
    return quantityAsFloat(nanosOf(this));
  }),
];

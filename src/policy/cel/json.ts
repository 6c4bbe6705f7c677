import { isCelList, isCelMap, isCelType, isCelUint, type CelInput, type CelValue } from '@bufbuild/cel';
import { toJson } from '@bufbuild/protobuf';
import { isReflectMessage, type ReflectMessage } from '@bufbuild/protobuf/reflect';
import { formatIP } from './ip-parse.ts';
import { CIDRDesc, fieldsOf, IPDesc, k8sTypeRegistry, QuantityDesc, SemverDesc, URLDesc } from './k8s-types.ts';
import type { CIDRShape, IPShape, QuantityShape, SemverShape, URLShape } from './k8s-types.ts';
import { formatQuantity } from './quantity.ts';
import { formatSemver } from './semver.ts';
import { formatURL } from './url-parse.ts';

/** A JSON document as JSON.parse returns it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const INT64_MIN = -(2 ** 63);
const INT64_LIMIT = 2 ** 63; // exclusive; 2^63 itself is not an int64

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function scalarToCel(v: unknown): CelInput {
  switch (typeof v) {
    case 'number':
      // JSON has one number type; integral values are CEL ints so `replicas + 1` type-checks at run time.
      return Number.isInteger(v) && v >= INT64_MIN && v < INT64_LIMIT ? BigInt(v) : v;
    case 'bigint':
      if (v < -(1n << 63n) || v >= 1n << 63n) throw new TypeError(`integer ${v} is outside the int64 range`);
      return v;
    case 'string':
    case 'boolean':
      return v;
    default:
      if (v === null) return null;
      throw new TypeError(`not a JSON value: ${typeof v}`);
  }
}

/**
 * Converts a parsed JSON document to CEL input: objects become CEL maps
 * (string keys), arrays lists, integral numbers within int64 become `int`
 * (bigint) and other numbers stay `double`. Properties whose value is
 * `undefined` are dropped, as JSON.stringify would. Iterative, so deeply
 * nested input cannot overflow the stack. Throws TypeError on non-JSON values.
 */
export function toCelValue(json: unknown): CelInput {
  let root: CelInput = null;
  const work: Array<{ value: unknown; set: (v: CelInput) => void }> = [{ value: json, set: (v) => (root = v) }];
  for (let item = work.pop(); item !== undefined; item = work.pop()) {
    const { value, set } = item;
    if (Array.isArray(value)) {
      const out: CelInput[] = new Array<CelInput>(value.length).fill(null);
      set(out);
      value.forEach((e: unknown, i) => work.push({ value: e, set: (v) => (out[i] = v) }));
    } else if (typeof value === 'object' && value !== null && isPlainObject(value)) {
      const out = new Map<string, CelInput>();
      set(out);
      for (const [k, e] of Object.entries(value)) {
        if (e === undefined) continue;
        // Reserve the key now so the map keeps the document's key order.
        out.set(k, null);
        work.push({ value: e, set: (v) => out.set(k, v) });
      }
    } else {
      set(scalarToCel(value));
    }
  }
  return root;
}

function setProp(obj: Record<string, JsonValue>, key: string, value: JsonValue): void {
  // defineProperty, not assignment: a "__proto__" key must stay an ordinary property.
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function intToJson(v: bigint): JsonValue {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

function messageToJson(m: ReflectMessage): JsonValue {
  switch (m.desc.typeName) {
    case QuantityDesc.typeName:
      return formatQuantity(BigInt(fieldsOf<QuantityShape>(m).nanos));
    case SemverDesc.typeName:
      return formatSemver(fieldsOf<SemverShape>(m));
    case URLDesc.typeName:
      return formatURL(fieldsOf<URLShape>(m));
    case IPDesc.typeName:
      return formatIP(fieldsOf<IPShape>(m).addr);
    case CIDRDesc.typeName: {
      const c = fieldsOf<CIDRShape>(m);
      return `${formatIP(c.addr)}/${c.bits}`;
    }
    default:
      // Timestamps become RFC 3339 strings and durations "1.5s", per the protobuf JSON mapping.
      try {
        return toJson(m.desc, m.message, { registry: k8sTypeRegistry }) as JsonValue;
      } catch (e) {
        return `<${m.desc.typeName}: ${e instanceof Error ? e.message : String(e)}>`;
      }
  }
}

function scalarToJson(v: CelValue): JsonValue {
  switch (typeof v) {
    case 'bigint':
      return intToJson(v);
    case 'number':
      // JSON has no NaN or infinities; use the protobuf JSON spelling.
      return Number.isFinite(v) ? v : String(v);
    case 'string':
    case 'boolean':
      return v;
    default:
      break;
  }
  if (v === null) return null;
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (isCelUint(v)) return intToJson(v.value);
  if (isCelType(v)) return v.name;
  if (isReflectMessage(v)) return messageToJson(v);
  return String(v);
}

function isRawObject(v: unknown): boolean {
  return (
    typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !isCelType(v) && !isCelUint(v) && !isReflectMessage(v) && isPlainObject(v)
  );
}

function keyToJson(k: unknown): string {
  if (isCelUint(k)) return k.value.toString();
  return String(k);
}

/**
 * Converts a CEL result to JSON-safe values: ints and uints become numbers
 * when exactly representable, else decimal strings; maps become objects
 * (keys stringified); bytes base64; timestamps RFC 3339; durations "Ns";
 * Kubernetes objects their canonical string. Iterative, so deep values
 * cannot overflow the stack. Meant for evaluation results; it can only throw
 * on raw input the library would refuse too (a function inside an array).
 */
export function fromCelValue(value: CelValue): JsonValue {
  let root: JsonValue = null;
  const work: Array<{ value: CelValue; set: (v: JsonValue) => void }> = [{ value, set: (v) => (root = v) }];
  for (let item = work.pop(); item !== undefined; item = work.pop()) {
    const { value: v, set } = item;
    // Raw arrays, Maps and plain objects (CEL input not yet wrapped by the library) are accepted too.
    const list = isCelList(v) ? v : Array.isArray(v) ? (v as readonly CelValue[]) : undefined;
    const map = isCelMap(v) ? v : v instanceof Map ? (v as ReadonlyMap<unknown, CelValue>) : isRawObject(v) ? new Map(Object.entries(v as unknown as Record<string, CelValue>)) : undefined;
    if (list !== undefined) {
      const out: JsonValue[] = [];
      set(out);
      for (const e of list) {
        const at = out.push(null) - 1;
        work.push({ value: e, set: (x) => (out[at] = x) });
      }
    } else if (map !== undefined) {
      const out: Record<string, JsonValue> = {};
      set(out);
      for (const [k, e] of map) {
        const key = keyToJson(k);
        setProp(out, key, null);
        work.push({ value: e, set: (x) => setProp(out, key, x) });
      }
    } else {
      set(scalarToJson(v));
    }
  }
  return root;
}

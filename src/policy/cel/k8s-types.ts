import { objectType, type CelObjectType } from '@bufbuild/cel';
import { create, createFileRegistry, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import { reflect, type ReflectMessage } from '@bufbuild/protobuf/reflect';
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorSetSchema,
  type DescriptorProtoSchema,
} from '@bufbuild/protobuf/wkt';

/**
 * Runtime protobuf descriptors for the Kubernetes CEL object types.
 *
 * @bufbuild/cel dispatches overloads on a value's type, and its only user
 * object type is a protobuf message. Giving each Kubernetes type its own
 * message (named as cel-go names them) lets `isGreaterThan` on a quantity and
 * on a semver coexist, makes `type(x) == net.CIDR` work, and gives equality
 * for free: every message holds a canonical form, so field-wise protobuf
 * equality is the Kubernetes equality (quantity('1') == quantity('1000m')).
 * The fields are an implementation detail; `compile.ts` refuses message
 * literals of these types so expressions cannot forge them.
 */

const STRING = FieldDescriptorProto_Type.STRING;
const BYTES = FieldDescriptorProto_Type.BYTES;
const UINT64 = FieldDescriptorProto_Type.UINT64;
const INT32 = FieldDescriptorProto_Type.INT32;
const BOOL = FieldDescriptorProto_Type.BOOL;
const OPTIONAL = FieldDescriptorProto_Label.OPTIONAL;
const REPEATED = FieldDescriptorProto_Label.REPEATED;

function message(
  name: string,
  fields: [string, FieldDescriptorProto_Type, FieldDescriptorProto_Label?][],
): MessageInitShape<typeof DescriptorProtoSchema> {
  return {
    name,
    field: fields.map(([fieldName, type, label], i) => ({
      name: fieldName,
      number: i + 1,
      type,
      label: label ?? OPTIONAL,
      // What protoc would fill in; the JS property name (rawPath) is derived the same way.
      jsonName: fieldName.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()),
    })),
  };
}

const registry = createFileRegistry(
  create(FileDescriptorSetSchema, {
    file: [
      {
        name: 'warrant/cel/kubernetes.proto',
        package: 'kubernetes',
        syntax: 'proto3',
        messageType: [
          message('Quantity', [['nanos', STRING]]),
          message('Semver', [
            ['major', UINT64],
            ['minor', UINT64],
            ['patch', UINT64],
            ['pre', STRING, REPEATED],
          ]),
          message('URL', [
            ['scheme', STRING],
            ['opaque', STRING],
            ['user', STRING],
            ['host', STRING],
            ['path', STRING],
            ['raw_path', STRING],
            ['force_query', BOOL],
            ['raw_query', STRING],
            ['fragment', STRING],
          ]),
        ],
      },
      {
        name: 'warrant/cel/net.proto',
        package: 'net',
        syntax: 'proto3',
        messageType: [
          message('IP', [['addr', BYTES]]),
          message('CIDR', [
            ['addr', BYTES],
            ['bits', INT32],
          ]),
        ],
      },
    ],
  }),
);

/** Registry holding the Kubernetes object types, merged into the environment's registry. */
export const k8sTypeRegistry = registry;

function desc(typeName: string): DescMessage {
  const d = registry.getMessage(typeName);
  if (d === undefined) throw new Error(`missing descriptor ${typeName}`);
  return d;
}

export const QuantityDesc = desc('kubernetes.Quantity');
export const SemverDesc = desc('kubernetes.Semver');
export const URLDesc = desc('kubernetes.URL');
export const IPDesc = desc('net.IP');
export const CIDRDesc = desc('net.CIDR');

export const QUANTITY: CelObjectType = objectType(QuantityDesc);
export const SEMVER: CelObjectType = objectType(SemverDesc);
export const URL_TYPE: CelObjectType = objectType(URLDesc);
export const IP: CelObjectType = objectType(IPDesc);
export const CIDR: CelObjectType = objectType(CIDRDesc);

/** Type names an expression may not construct with a message literal. */
export const INTERNAL_TYPE_NAMES: ReadonlySet<string> = new Set(
  [QuantityDesc, SemverDesc, URLDesc, IPDesc, CIDRDesc].map((d) => d.typeName),
);

export interface QuantityShape {
  /** The value in units of 10^-9, as a decimal integer (bigint range is unbounded). */
  nanos: string;
}
export interface SemverShape {
  major: bigint;
  minor: bigint;
  patch: bigint;
  pre: string[];
}
export interface URLShape {
  scheme: string;
  opaque: string;
  user: string;
  host: string;
  path: string;
  rawPath: string;
  forceQuery: boolean;
  rawQuery: string;
  fragment: string;
}
export interface IPShape {
  addr: Uint8Array;
}
export interface CIDRShape {
  addr: Uint8Array;
  bits: number;
}

/** Wraps plain field values as a CEL object value of the given type. */
export function makeObject<T extends object>(d: DescMessage, init: T): ReflectMessage {
  return reflect(d, create(d, init as MessageInitShape<DescMessage>));
}

/** Reads the fields of a CEL object value created by `makeObject`. */
export function fieldsOf<T>(value: ReflectMessage): T {
  return value.message as unknown as T;
}

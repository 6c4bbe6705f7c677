/**
 * The official cel-spec conformance suite (cel-spec v0.25.1 via
 * @bufbuild/cel-spec 0.6.1), run through warrant's own CEL layer:
 * createCelEnvironment() + compileExpression() + evaluate(). It proves the
 * wrapper (extension libraries, cached RE2, compile checks, limits) does not
 * break the library's core semantics.
 *
 * Skipped: tests that need the conformance protobuf registry (TestAllTypes and
 * friends, a `container`), type-check-only tests and unknown-value tests.
 *
 * Measured with this environment (pass / fail / skipped), and the bare
 * library (`celEnv({ funcs: strings })`, no wrapper) on the same tests:
 *
 *   file          pass  fail  skip  bare
 *   basic           43     0     0    43
 *   comparisons    362     0    44   362
 *   conversions    109     0     0   109
 *   fields          54     6     0    53
 *   fp_math         30     0     0    30
 *   integer_math    64     0     0    64
 *   lists           39     0     0    39
 *   logic           30     0     0    30
 *   macros          44     0     0    44
 *   parse          193     0    26   193
 *   plumbing         5     0     0     5
 *   string          51     0     0    51
 *   string_ext     206     0     3   206
 *   timestamps      76     0     0    76
 *   total         1306     6    73  1305
 *
 * The six fields failures are the library's quoted field names
 * (`` a.`b.c` ``), which it cannot parse. The wrapper passes one more than
 * the bare library: it refuses the repeated map key in `{0: 1, 0u: 2}`.
 * Every error-expected test errors.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  celEnv,
  celList,
  celMap,
  celUint,
  CelScalar,
  isCelError,
  isCelList,
  isCelMap,
  isCelType,
  isCelUint,
  listType,
  mapType,
  objectType,
  parse,
  plan,
  type CelInput,
  type CelUint,
  type CelValue,
} from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { equals, type Registry } from '@bufbuild/protobuf';
import { isReflectMessage } from '@bufbuild/protobuf/reflect';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import type { Value } from '@bufbuild/cel-spec/cel/expr/value_pb.js';
import { getTestRegistry } from '@bufbuild/cel-spec/testdata/registry.js';
import { getConformanceSuite, type IncrementalTest, type IncrementalTestSuite } from '@bufbuild/cel-spec/testdata/tests.js';
import { CelCompileError, compileExpression, createCelEnvironment } from '../../src/policy/cel/index.ts';

const FILES = [
  'basic',
  'comparisons',
  'conversions',
  'fields',
  'fp_math',
  'integer_math',
  'lists',
  'logic',
  'macros',
  'parse',
  'plumbing',
  'string',
  'string_ext',
  'timestamps',
] as const;

/** Pass counts measured with this environment; a drop is a regression. */
const BASELINE: Record<(typeof FILES)[number], number> = {
  basic: 43,
  comparisons: 362,
  conversions: 109,
  fields: 54,
  fp_math: 30,
  integer_math: 64,
  lists: 39,
  logic: 30,
  macros: 44,
  parse: 193,
  plumbing: 5,
  string: 51,
  string_ext: 206,
  timestamps: 76,
};

const registry = getTestRegistry();
const env = createCelEnvironment();
const rawEnv = celEnv({ funcs: strings });
// Message types every CEL environment knows; anything else needs the conformance registry.
const WKT_PREFIX = 'google.protobuf.';

interface Outcome {
  readonly name: string;
  readonly kind: 'pass' | 'fail' | 'skip';
  readonly errorExpected: boolean;
  readonly reason?: string;
}

function flatten(suite: IncrementalTestSuite, prefix: string[], out: { path: string; test: IncrementalTest }[]): void {
  for (const t of suite.tests) out.push({ path: [...prefix, t.name].join('/'), test: t });
  for (const s of suite.suites) flatten(s, [...prefix, s.name], out);
}

function usesTestMessages(value: Value | undefined): boolean {
  if (value === undefined) return false;
  const k = value.kind;
  switch (k.case) {
    case 'objectValue':
      return !k.value.typeUrl.replace(/^.*\//, '').startsWith(WKT_PREFIX);
    case 'listValue':
      return k.value.values.some(usesTestMessages);
    case 'mapValue':
      return k.value.entries.some((e) => usesTestMessages(e.key) || usesTestMessages(e.value));
    default:
      return false;
  }
}

function skipReason(t: IncrementalTest): string | undefined {
  const o = t.original;
  if (o.checkOnly) return 'check only';
  const m = o.resultMatcher.case;
  if (m === 'typedResult' || m === 'unknown' || m === 'anyUnknowns') return `result matcher ${m}`;
  if (o.container !== '') return 'needs a container';
  if (/TestAllTypes|NestedTestAllTypes|cel\.expr\.conformance|GlobalEnum|TestRequired/.test(o.expr)) return 'needs test protos';
  if (Object.values(o.bindings).some((b) => b.kind.case === 'value' && usesTestMessages(b.kind.value))) return 'needs test protos';
  if (m === 'value' && usesTestMessages(o.resultMatcher.value)) return 'needs test protos';
  return undefined;
}

function lookupType(name: string): CelValue {
  switch (name) {
    case 'int':
      return CelScalar.INT;
    case 'uint':
      return CelScalar.UINT;
    case 'double':
      return CelScalar.DOUBLE;
    case 'bool':
      return CelScalar.BOOL;
    case 'string':
      return CelScalar.STRING;
    case 'bytes':
      return CelScalar.BYTES;
    case 'null_type':
      return CelScalar.NULL;
    case 'type':
      return CelScalar.TYPE;
    case 'list':
      return listType(CelScalar.DYN);
    case 'map':
      return mapType(CelScalar.DYN, CelScalar.DYN);
    default: {
      const desc = registry.getMessage(name);
      if (desc === undefined) throw new Error(`unknown type ${name}`);
      return objectType(desc);
    }
  }
}

function toInput(value: Value, reg: Registry): CelInput {
  const k = value.kind;
  switch (k.case) {
    case 'nullValue':
      return null;
    case 'boolValue':
    case 'int64Value':
    case 'doubleValue':
    case 'stringValue':
    case 'bytesValue':
      return k.value;
    case 'uint64Value':
      return celUint(k.value);
    case 'enumValue':
      return BigInt(k.value.value);
    case 'listValue':
      return celList(k.value.values.map((v) => toInput(v, reg)));
    case 'mapValue': {
      const map = new Map<string | bigint | boolean | CelUint, CelInput>();
      for (const e of k.value.entries) {
        if (e.key === undefined || e.value === undefined) throw new Error('invalid map entry');
        map.set(toInput(e.key, reg) as string | bigint | boolean | CelUint, toInput(e.value, reg));
      }
      return celMap(map);
    }
    case 'typeValue':
      return lookupType(k.value) as CelInput;
    case 'objectValue': {
      const msg = anyUnpack(k.value, reg);
      if (msg === undefined) throw new Error(`cannot unpack ${k.value.typeUrl}`);
      return msg;
    }
    default:
      throw new Error(`unsupported binding ${String(k.case)}`);
  }
}

function sameNumber(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

function matches(actual: CelValue, expected: Value): boolean {
  const k = expected.kind;
  switch (k.case) {
    case 'nullValue':
      return actual === null;
    case 'boolValue':
    case 'stringValue':
    case 'int64Value':
      return actual === k.value;
    case 'uint64Value':
      return isCelUint(actual) && actual.value === k.value;
    case 'doubleValue':
      return typeof actual === 'number' && sameNumber(actual, k.value);
    case 'bytesValue':
      return actual instanceof Uint8Array && actual.length === k.value.length && actual.every((b, i) => b === k.value[i]);
    case 'enumValue':
      return actual === BigInt(k.value.value);
    case 'typeValue':
      return isCelType(actual) && actual.name === k.value;
    case 'listValue': {
      if (!isCelList(actual) || actual.size !== k.value.values.length) return false;
      return k.value.values.every((v, i) => matches(actual.get(i) as CelValue, v));
    }
    case 'mapValue': {
      if (!isCelMap(actual) || actual.size !== k.value.entries.length) return false;
      return k.value.entries.every((e) => {
        if (e.key === undefined || e.value === undefined) return false;
        const key = toInput(e.key, registry) as bigint | string | boolean | CelUint;
        const got = actual.get(isCelUint(key) ? key.value : key);
        return got !== undefined && matches(got, e.value);
      });
    }
    case 'objectValue': {
      const msg = anyUnpack(k.value, registry);
      return msg !== undefined && isReflectMessage(actual) && actual.desc.typeName === msg.$typeName && equals(actual.desc, actual.message, msg, { registry });
    }
    default:
      return false;
  }
}

type Run = { readonly refused: string } | { readonly value: CelValue } | { readonly error: string };

/** warrant's layer: compileExpression (with declarations unless the test disables checks) + evaluate. */
function runWarrant(t: IncrementalTest, bindings: Record<string, CelInput>): Run {
  const o = t.original;
  // Declaration checking is a form of type checking: leave it off where the test disables checks.
  const variables = o.disableCheck ? undefined : [...o.typeEnv.map((d) => d.name), ...Object.keys(o.bindings)];
  try {
    const result = compileExpression(o.expr, { env, variables }).evaluate(bindings);
    return result.ok ? { value: result.value } : { error: `${result.error.code}: ${result.error.message}` };
  } catch (e) {
    if (!(e instanceof CelCompileError)) throw e;
    return { refused: `compile error ${e.code}: ${e.message}` };
  }
}

/** The bare library as its own conformance test configures it, for comparison. */
function runRaw(t: IncrementalTest, bindings: Record<string, CelInput>): Run {
  try {
    const result = plan(rawEnv, parse(t.original.expr))(bindings);
    return isCelError(result) ? { error: result.message } : { value: result };
  } catch (e) {
    return { refused: e instanceof Error ? e.message : String(e) };
  }
}

function judge(t: IncrementalTest, run: (t: IncrementalTest, b: Record<string, CelInput>) => Run): Omit<Outcome, 'name'> {
  const o = t.original;
  const errorExpected = o.resultMatcher.case === 'evalError' || o.resultMatcher.case === 'anyEvalErrors';
  const skip = skipReason(t);
  if (skip !== undefined) return { kind: 'skip', errorExpected, reason: skip };
  const bindings: Record<string, CelInput> = {};
  for (const [name, b] of Object.entries(o.bindings)) {
    if (b.kind.case !== 'value') return { kind: 'skip', errorExpected, reason: `binding ${b.kind.case}` };
    bindings[name] = toInput(b.kind.value, registry);
  }
  const r = run(t, bindings);
  if (errorExpected) return 'value' in r ? { kind: 'fail', errorExpected, reason: 'expected an error, got a value' } : { kind: 'pass', errorExpected };
  if ('refused' in r) return { kind: 'fail', errorExpected, reason: r.refused };
  if ('error' in r) return { kind: 'fail', errorExpected, reason: r.error };
  const ok = o.resultMatcher.case === 'value' ? matches(r.value, o.resultMatcher.value) : r.value === true;
  return ok ? { kind: 'pass', errorExpected } : { kind: 'fail', errorExpected, reason: 'wrong value' };
}

const suite = getConformanceSuite();
const table: string[] = [];

describe('cel-spec conformance through warrant’s CEL environment', () => {
  for (const file of FILES) {
    test(file, (t) => {
      const fileSuite = suite.suites.find((s) => s.name === file);
      assert.ok(fileSuite, `conformance file ${file} is missing`);
      const cases: { path: string; test: IncrementalTest }[] = [];
      flatten(fileSuite, [], cases);
      const outcomes: Outcome[] = cases.map(({ path, test: tc }) => ({ name: path, ...judge(tc, runWarrant) }));
      const rawPass = cases.filter(({ test: tc }) => judge(tc, runRaw).kind === 'pass').length;
      const count = (kind: Outcome['kind']) => outcomes.filter((x) => x.kind === kind).length;
      const pass = count('pass');
      const fail = count('fail');
      const skip = count('skip');
      table.push(`${file.padEnd(13)} ${String(pass).padStart(5)} ${String(fail).padStart(5)} ${String(skip).padStart(5)} ${String(rawPass).padStart(5)}`);
      t.diagnostic(`${file}: ${pass} pass, ${fail} fail, ${skip} skipped (bare library: ${rawPass} pass)`);
      for (const f of outcomes.filter((x) => x.kind === 'fail')) t.diagnostic(`  fail ${f.name}: ${f.reason ?? ''}`);
      const wrongErrors = outcomes.filter((x) => x.errorExpected && x.kind === 'fail').map((x) => x.name);
      assert.deepEqual(wrongErrors, [], 'every error-expected test must error');
      assert.ok(pass >= BASELINE[file], `${file}: ${pass} passes, below the baseline of ${BASELINE[file]}`);
      assert.ok(pass >= rawPass, `${file}: the wrapper passes ${pass}, the bare library ${rawPass}`);
    });
  }

  test('summary', (t) => {
    for (const line of ['file           pass  fail  skip  bare', ...table]) t.diagnostic(line);
  });
});

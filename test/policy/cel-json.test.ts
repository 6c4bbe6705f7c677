/**
 * JSON ⇄ CEL conversion: JSON numbers are doubles to CEL unless converted,
 * so integral values become ints on the way in; results come back JSON-safe.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CelInput, CelValue } from '@bufbuild/cel';
import { compileExpression, fromCelValue, toCelValue, type JsonValue } from '../../src/policy/cel/index.ts';
import { env, run, json } from './cel-helpers.ts';

describe('JSON conversion', () => {
  test('object.spec.replicas + 1 == 4 with replicas from JSON.parse', () => {
    const object = toCelValue(JSON.parse('{"spec":{"replicas":3}}'));
    assert.equal(run('object.spec.replicas + 1 == 4', { object }), true);
    assert.equal(run('object.spec.replicas + 1', { object }), 4n);
    // Without the conversion the JSON number is a double and int arithmetic has no overload.
    const raw = compileExpression('object.spec.replicas + 1', { env }).evaluate({ object: JSON.parse('{"spec":{"replicas":3}}') as CelInput });
    assert.ok(!raw.ok);
    assert.match(raw.error.message, /no matching overload for '_\+_' applied to '\(double, int\)'/);
  });

  test('toCelValue: integral numbers within int64 become ints, others stay doubles', () => {
    const doc = toCelValue(JSON.parse('{"i":3,"neg":-7,"f":1.5,"big":1e300,"edge":9223372036854775807,"list":[1,2.5,"x",true,null],"nested":{"a":[{"b":0}]}}'));
    const b = { doc };
    assert.equal(run("type(doc.i) == int && type(doc.neg) == int && type(doc.f) == double && type(doc.big) == double", b), true);
    // 9223372036854775807 parses to the double 2^63, which is not an int64.
    assert.equal(run('type(doc.edge) == double', b), true);
    assert.equal(run("doc.list[0] + 1 == 2 && doc.list[1] == 2.5 && doc.list[2] == 'x' && doc.list[3] && doc.list[4] == null", b), true);
    assert.equal(run('doc.nested.a[0].b == 0', b), true);
  });

  test('toCelValue keeps key order, odd keys, drops undefined and refuses non-JSON', () => {
    const doc = toCelValue(JSON.parse('{"z":1,"__proto__":2,"a":3,"constructor":4}'));
    assert.deepEqual(fromCelValue(run('doc', { doc })), JSON.parse('{"z":1,"__proto__":2,"a":3,"constructor":4}'));
    assert.equal(run("doc['__proto__'] == 2 && doc.constructor == 4", { doc }), true);
    assert.equal(run("!has(doc.u)", { doc: toCelValue({ u: undefined, v: 1 }) }), true);
    assert.throws(() => toCelValue({ f: () => 1 }), TypeError);
    assert.throws(() => toCelValue(new Date()), TypeError);
    assert.throws(() => toCelValue(1n << 70n), TypeError);
  });

  test('toCelValue and fromCelValue handle very deep documents', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const doc = toCelValue(deep);
    for (const back of [fromCelValue(run('doc', { doc })), fromCelValue(doc as CelValue)]) {
      let cur = back;
      for (let i = 0; i < 100_000; i++) {
        assert.ok(Array.isArray(cur));
        cur = cur[0] as JsonValue;
      }
      assert.equal(cur, 1);
    }
  });

  test('fromCelValue produces JSON-safe values', () => {
    assert.deepEqual(json('[1, -2, 9007199254740993, 18446744073709551615u, 2u]'), [1, -2, '9007199254740993', '18446744073709551615', 2]);
    // double('inf') is NaN in @bufbuild/cel 0.6.1 (cel-go: +Inf); 'Infinity' parses.
    assert.deepEqual(json("[1.5, double('NaN'), double('Infinity'), -1.0/0.0]"), [1.5, 'NaN', 'Infinity', '-Infinity']);
    assert.deepEqual(json("{1: 'a', true: 'b', 2u: 'c', 'k': {'n': null}}"), { '1': 'a', true: 'b', '2': 'c', k: { n: null } });
    assert.equal(json("b'\\x00\\xff'"), 'AP8=');
    assert.equal(json("timestamp('2024-05-06T07:08:09.5Z')"), '2024-05-06T07:08:09.500Z');
    assert.equal(json("timestamp('2024-05-06T07:08:09Z')"), '2024-05-06T07:08:09Z');
    assert.equal(json("duration('1h1.5s')"), '3601.500s');
    assert.equal(json("duration('-1s')"), '-1s');
    assert.equal(json('type(1)'), 'int');
    assert.equal(JSON.stringify(json("{'a': [1, {'b': 2.5}]}")), '{"a":[1,{"b":2.5}]}');
  });
});

/**
 * Compile-time limits, positioned errors and RE2 behaviour of warrant's CEL
 * layer. Hang guards are node:test timeouts, not timing assertions.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CelCompileError,
  CelErrorCode,
  compileExpression,
  createCelEnvironment,
  DEFAULT_COMPILE_LIMITS,
  toCelValue,
  type CompileOptions,
} from '../../src/policy/cel/index.ts';
import { firstTooDeepBracket } from '../../src/policy/cel/compile.ts';
import { RegexCache } from '../../src/policy/cel/regex-cache.ts';

const env = createCelEnvironment();

function compileError(source: string, options: CompileOptions = {}): CelCompileError {
  try {
    compileExpression(source, { env, ...options });
  } catch (e) {
    assert.ok(e instanceof CelCompileError, `expected CelCompileError, got ${String(e)}`);
    return e;
  }
  assert.fail(`expected ${JSON.stringify(source.slice(0, 60))} to be refused`);
}

function evaluate(source: string, bindings: Record<string, unknown> = {}) {
  const converted = Object.fromEntries(Object.entries(bindings).map(([k, v]) => [k, toCelValue(v)]));
  return compileExpression(source, { env }).evaluate(converted);
}

describe('size limits', () => {
  test('an over-long expression is refused before parsing', () => {
    const e = compileError(`'${'a'.repeat(DEFAULT_COMPILE_LIMITS.maxLength)}'`);
    assert.equal(e.code, CelErrorCode.LIMIT);
    assert.match(e.message, /over the limit of 16384/);
    assert.equal(compileError('1 + 2', { maxLength: 4 }).code, CelErrorCode.LIMIT);
    assert.doesNotThrow(() => compileExpression('1 + 2', { env, maxLength: 5 }));
  });

  test('too many AST nodes', () => {
    const list = `[${Array(2_000).fill('1').join(',')}]`;
    const e = compileError(list, { maxAstNodes: 1_000 });
    assert.equal(e.code, CelErrorCode.LIMIT);
    assert.match(e.message, /more than 1000 nodes/);
    assert.doesNotThrow(() => compileExpression(list, { env, maxAstNodes: 2_001 }));
    // Macros count after expansion: a comprehension is several nodes.
    assert.equal(compileError('[1, 2].all(x, x > 0)', { maxAstNodes: 5 }).code, CelErrorCode.LIMIT);
  });

  test('5000 levels of parentheses fail fast with CEL_LIMIT', { timeout: 5_000 }, () => {
    const deep = `${'('.repeat(5_000)}1${')'.repeat(5_000)}`;
    const e = compileError(deep);
    assert.equal(e.code, CelErrorCode.LIMIT);
    assert.equal(e.line, 1);
    assert.equal(e.column, DEFAULT_COMPILE_LIMITS.maxDepth + 1);
  });

  test('nesting the bracket scan misses is caught by the parser guard or the AST walk', { timeout: 5_000 }, () => {
    // With the bracket limit lifted, the recursive parser overflows; that is reported, not thrown.
    const parens = compileError(`${'('.repeat(5_000)}1${')'.repeat(5_000)}`, { maxDepth: 1_000_000 });
    assert.equal(parens.code, CelErrorCode.LIMIT);
    assert.match(parens.message, /nested too deeply to parse/);
    for (const deep of [`${'['.repeat(5_000)}1${']'.repeat(5_000)}`, `${'{1: '.repeat(3_000)}1${'}'.repeat(3_000)}`]) {
      assert.equal(compileError(deep).code, CelErrorCode.LIMIT);
    }
    // A long left-associative chain has no brackets but a deep AST.
    const chain = compileError(Array(3_000).fill('1').join(' + '));
    assert.equal(chain.code, CelErrorCode.LIMIT);
    assert.match(chain.message, /nesting is deeper than the limit of 128/);
    assert.equal(compileError('((1))', { maxDepth: 1 }).code, CelErrorCode.LIMIT);
    assert.equal(compileError('[[1]]', { maxDepth: 2 }).code, CelErrorCode.LIMIT);
  });

  test('the bracket scan ignores strings and comments', () => {
    assert.equal(firstTooDeepBracket(`'((((' + "[[[[" + '''{{{{''' + r'\\' + "\\"(((("`, 2), -1);
    assert.equal(firstTooDeepBracket('1 // ((((((\n+ 2', 2), -1);
    assert.equal(firstTooDeepBracket('((("x")))', 2), 2);
    assert.equal(evaluate(`'((((((((((' + "[[[[[[[[[[" + ')'`).ok, true);
  });

  test('deep but legal expressions still work', () => {
    const r = evaluate(`${'('.repeat(100)}1${')'.repeat(100)} + ${Array(100).fill('1').join(' + ')}`);
    assert.ok(r.ok);
    assert.equal(r.value, 101n);
    // && and || chains are balanced by the parser, so long conjunctions stay shallow.
    assert.equal(evaluate(Array(2_000).fill('true').join(' && ')).ok, true);
  });
});

describe('compile errors carry positions', () => {
  test('syntax error at the end of input, with a caret', () => {
    const e = compileError('object.spec.replicas <= ');
    assert.equal(e.code, CelErrorCode.SYNTAX);
    assert.equal(e.message, 'syntax error: unexpected end of input');
    assert.deepEqual([e.line, e.column, e.offset], [1, 25, 24]);
    assert.equal(e.caret(), 'object.spec.replicas <= \n                        ^');
  });

  test('syntax error on a later line', () => {
    const e = compileError("object.metadata.name == 'x' &&\n  object.spec.replicas > 1 )");
    assert.equal(e.code, CelErrorCode.SYNTAX);
    assert.deepEqual([e.line, e.column], [2, 28]);
    assert.equal(e.caret(), '  object.spec.replicas > 1 )\n                           ^');
  });

  test('columns count code points and carets keep tabs', () => {
    const e = compileError("'😀😀' +\n\t\t1 +");
    assert.deepEqual([e.line, e.column], [2, 6]);
    assert.equal(e.caret().split('\n')[1], '\t\t   ^');
    const emoji = compileError("'😀' + ]");
    assert.equal(emoji.column, 7);
  });

  test('long lines are windowed around the caret', () => {
    const e = compileError(`${'a + '.repeat(500)}]`);
    assert.equal(e.column, 2001);
    const [line, caret] = e.caret().split('\n') as [string, string];
    assert.ok(line.length <= 102, `window is ${line.length} wide`);
    assert.ok(line.startsWith('…'));
    // The caret sits under the offending ']'.
    assert.equal(line[caret.indexOf('^')], ']');
  });

  test('checks the library skips: literals, macros, declarations', () => {
    const big = compileError('x + 9223372036854775808', { variables: ['x'] });
    assert.deepEqual([big.code, big.column], [CelErrorCode.SYNTAX, 5]);
    assert.equal(compileError('has(1)').code, CelErrorCode.SYNTAX);
    const macro = compileError('[1].exists(1, true)');
    assert.deepEqual([macro.code, macro.column], [CelErrorCode.SYNTAX, 12]);
    assert.equal(compileError("{'a': 1, 'a': 2}").code, CelErrorCode.INVALID);
    const undeclared = compileError('object.spec.x == objekt.spec.x', { variables: ['object'] });
    assert.deepEqual([undeclared.code, undeclared.message, undeclared.column], [CelErrorCode.UNDECLARED, "undeclared reference to 'objekt'", 18]);
    // Comprehension variables, type names and namespaced functions are not variables.
    for (const ok of ['object.items.all(i, i.x > 0)', 'type(object) == map', "ip.isCanonical('::1')", "type(1) == google.protobuf.Int64Value || true"]) {
      assert.doesNotThrow(() => compileExpression(ok, { env, variables: ['object'] }), ok);
    }
    assert.doesNotThrow(() => compileExpression('a.b.c', { env, variables: ['a.b'] }));
  });
});

describe('evaluation errors', () => {
  test('carry the failing position and never throw', () => {
    const r = evaluate('object.spec.containers.all(c,\n  c.securityContext.privileged == false)', {
      object: { spec: { containers: [{ securityContext: {} }] } },
    });
    assert.ok(!r.ok);
    assert.equal(r.error.code, CelErrorCode.EVAL);
    assert.equal(r.error.message, 'field not found: privileged');
    assert.deepEqual([r.error.line, r.error.column], [2, 20]);
    assert.equal(r.error.caret(), '  c.securityContext.privileged == false)\n                   ^');
  });

  test('unresolved variables are named', () => {
    const r = evaluate('objekt.spec');
    assert.ok(!r.ok);
    assert.equal(r.error.message, "unresolved attribute 'objekt'");
  });

  test('errors without a position render no caret', () => {
    const r = evaluate('1 / 0');
    assert.ok(!r.ok);
    assert.equal(r.error.message, 'int divide by zero');
    assert.equal(r.error.caret(), '');
  });

  test('hostile bindings become error results, not exceptions', () => {
    const getter = {
      get y(): number {
        throw new Error('boom');
      },
    };
    const r = compileExpression('x.y', { env }).evaluate({ x: getter as never });
    assert.ok(!r.ok);
    assert.equal(r.error.message, 'boom');
    const proxy = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
      },
    );
    const p = compileExpression('x', { env }).evaluate(proxy);
    assert.ok(!p.ok);
    assert.match(p.error.message, /trap/);
    for (const bad of [() => 1, Symbol('s'), new Date()]) {
      assert.equal(compileExpression('x', { env }).evaluate({ x: bad as never }).ok, false);
    }
  });
});

describe('RE2 semantics', () => {
  test('\\z, (?i) and backreferences', () => {
    assert.deepEqual(evaluate("'abc'.matches('c\\\\z')"), { ok: true, value: true });
    assert.deepEqual(evaluate("'ABC'.matches('(?i)abc')"), { ok: true, value: true });
    const backref = evaluate("'aa'.matches('(a)\\\\1')");
    assert.ok(!backref.ok);
    assert.match(backref.error.message, /invalid escape sequence/);
  });

  test('catastrophic-backtracking patterns run in linear time', { timeout: 10_000 }, () => {
    const name = `${'a'.repeat(252)}!`;
    assert.deepEqual(evaluate("name.matches('^(a+)+$')", { name }), { ok: true, value: false });
    assert.deepEqual(evaluate("name.find('(a+)+$')", { name }), { ok: true, value: '' });
    assert.deepEqual(evaluate("name.find('(a|aa)+!')", { name }), { ok: true, value: name });
    const long = 'a'.repeat(100_000);
    assert.deepEqual(evaluate("s.matches('^(a|a?)+b$')", { s: long }), { ok: true, value: false });
    const all = evaluate("s.findAll('a{1,3}').size()", { s: long });
    assert.deepEqual(all, { ok: true, value: 33_334n });
  });

  test('over-long patterns are refused', () => {
    const r = evaluate(`'x'.matches('${'a'.repeat(1_025)}')`);
    assert.ok(!r.ok);
    assert.match(r.error.message, /over the limit of 1024/);
    const small = createCelEnvironment({ maxRegexLength: 4 });
    const s = compileExpression("'abcde'.find('abcde')", { env: small }).evaluate();
    assert.ok(!s.ok);
    assert.match(s.error.message, /Illegal regex: .*over the limit of 4/);
  });

  test('the compiled-pattern cache is a bounded LRU that also remembers failures', () => {
    const cache = new RegexCache({ size: 2 });
    const a = cache.compile('a+');
    cache.compile('b+');
    assert.equal(cache.compile('a+'), a, 'hit returns the same program');
    cache.compile('c+'); // evicts b+, the least recently used
    assert.equal(cache.cached, 2);
    assert.equal(cache.compile('a+'), a);
    assert.throws(() => cache.compile('('), /missing closing \)/);
    assert.throws(() => cache.compile('('), /missing closing \)/);
    assert.equal(cache.cached, 2);
  });
});

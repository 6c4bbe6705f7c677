/**
 * The Kubernetes CEL extension libraries, checked against the examples in
 * https://kubernetes.io/docs/reference/using-api/cel/ (and the library doc
 * comments in k8s.io/apiserver/pkg/cel/library), semver.org precedence and
 * Go regexp/net/url/netip semantics where the documentation is silent.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RE2JS } from '@bufbuild/re2';
import fc from 'fast-check';
import {
  CelCompileError,
  CelEvalError,
  compileExpression,
  type JsonValue,
} from '../../src/policy/cel/index.ts';
import { findMatch } from '../../src/policy/cel/regex-find.ts';
import { env, run, json, evalError } from './cel-helpers.ts';

/** Every expression must evaluate to true. */
function allTrue(exprs: readonly string[]): void {
  for (const e of exprs) assert.equal(run(e), true, e);
}

/** Every expression must evaluate to false. */
function allFalse(exprs: readonly string[]): void {
  for (const e of exprs) assert.equal(run(e), false, e);
}

describe('lists library', () => {
  test('isSorted', () => {
    allTrue(["[1, 2, 3].isSorted()", "['a', 'b', 'b', 'c'].isSorted()", '[1].isSorted()', '[].isSorted()']);
    allTrue(["[timestamp('2020-01-01T00:00:00Z'), timestamp('2021-01-01T00:00:00Z')].isSorted()", '[1, 2u, 3.5].isSorted()']);
    allFalse(['[2.0, 1.0].isSorted()', "['b', 'a'].isSorted()", '[false, true, false].isSorted()']);
    assert.match(evalError("[1, 'a'].isSorted()").message, /no matching overload/);
  });

  test('sum', () => {
    assert.equal(run('[1, 3].sum()'), 4n);
    assert.equal(run('[1.0, 3.0].sum()'), 4);
    assert.equal(run("[duration('1m'), duration('1s')].sum() == duration('1m1s')"), true);
    assert.equal(run('[].sum()'), 0n);
    assert.equal(json('[1u, 2u].sum()'), 3);
    assert.match(evalError('[9223372036854775807, 1].sum()').message, /overflow/);
    assert.match(evalError('[1, 2.0].sum()').message, /no matching overload/);
  });

  test('min and max', () => {
    assert.equal(run('[1, 3].min()'), 1n);
    assert.equal(run('[1, 3].max()'), 3n);
    assert.equal(run('[1].min()'), 1n);
    assert.equal(run('([0] + []).min()'), 0n);
    assert.equal(run("['b', 'a', 'c'].max()"), 'c');
    assert.equal(run("[duration('1h'), duration('30m')].min() == duration('30m')"), true);
    assert.match(evalError('[].min()').message, /min called on empty list/);
    assert.match(evalError('[].max()').message, /max called on empty list/);
  });

  test('indexOf and lastIndexOf', () => {
    assert.equal(run('[1, 2, 2, 3].indexOf(2)'), 1n);
    assert.equal(run("['a', 'b', 'b', 'c'].lastIndexOf('b')"), 2n);
    assert.equal(run('[1.0].indexOf(1.1)'), -1n);
    assert.equal(run("[].indexOf('string')"), -1n);
    // CEL equality: numbers compare across types, lists and maps structurally.
    assert.equal(run('[1.0, 2u, 3].indexOf(2)'), 1n);
    assert.equal(run("[[1], {'a': 1}].indexOf({'a': 1})"), 1n);
    // The strings extension's indexOf on strings is untouched.
    assert.equal(run("'hello'.indexOf('l')"), 2n);
  });
});

describe('regex library', () => {
  test('documented examples', () => {
    assert.equal(run("'abc 123'.find('[0-9]+')"), '123');
    assert.equal(run("'abc 123'.find('xyz')"), '');
    assert.deepEqual(json("'123 abc 456'.findAll('[0-9]+')"), ['123', '456']);
    assert.deepEqual(json("'123 abc 456'.findAll('[0-9]+', 1)"), ['123']);
    assert.deepEqual(json("'123 abc 456'.findAll('xyz')"), []);
  });

  test("Go's FindString/FindAllString semantics", () => {
    // Leftmost-first, not leftmost-longest.
    assert.equal(run("'ab'.find('a|ab')"), 'a');
    assert.equal(run("'xabcabc'.find('(abc)+')"), 'abcabc');
    // An empty match at the leftmost position wins, as in Go.
    assert.equal(run("'abc 123'.find('[0-9]*')"), '');
    // Empty matches right after a match are dropped.
    assert.deepEqual(json("'123 abc 456'.findAll('[0-9]*')"), ['123', '', '', '', '', '456']);
    assert.deepEqual(json("'abc'.findAll('')"), ['', '', '', '']);
    assert.deepEqual(json("'a1b2c3'.findAll('[0-9]', 0)"), []);
    assert.deepEqual(json("'a1b2c3'.findAll('[0-9]', -1)"), ['1', '2', '3']);
    assert.deepEqual(json("'a1b2c3'.findAll('[0-9]', 2)"), ['1', '2']);
  });

  test('assertions see the whole string', () => {
    assert.deepEqual(json("'one two'.findAll('\\\\b[a-z]')"), ['o', 't']);
    assert.deepEqual(json("'ab\\ncd'.findAll('(?m)^.')"), ['a', 'c']);
    assert.deepEqual(json("'ab\\ncd'.findAll('^.')"), ['a']);
    assert.equal(run("'abc'.find('c$')"), 'c');
    assert.equal(run("'abc'.find('^b')"), '');
  });

  test('Unicode: code points, case folding and classes', () => {
    assert.deepEqual(json("'héllo wörld'.findAll('\\\\pL+')"), ['héllo', 'wörld']);
    assert.equal(run("'a😀b'.find('.b')"), '😀b');
    assert.equal(run("'ÀB'.find('(?i)àb')"), 'ÀB');
  });

  test('empty matches follow Go, not JavaScript', () => {
    // JavaScript's 'abc'.match(/b*/g) is ['', 'b', '', '']; Go drops the empty match right after 'b'.
    assert.deepEqual(json("'abc'.findAll('b*')"), ['', 'b', '']);
  });

  test('match positions agree with a backtracking engine wherever the semantics coincide', () => {
    // Leftmost-first is Perl's (and JavaScript's) rule too; they differ from RE2 only for
    // repetitions of patterns that can match empty, which the generator avoids.
    type R = { s: string; nullable: boolean };
    const atom = fc.constantFrom<R>(
      ...['a', 'b', '.', '[ab]', 'c', '(?i:A)'].map((s) => ({ s, nullable: false })),
      ...['\\b', '\\B', '^', '$', '(?:)'].map((s) => ({ s, nullable: true })),
    );
    const { node } = fc.letrec<{ node: R; cat: R; alt: R; rep: R; grp: R }>((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, atom, tie('cat'), tie('alt'), tie('rep'), tie('grp')),
      cat: fc.tuple(tie('node'), tie('node')).map(([x, y]) => ({ s: `${x.s}${y.s}`, nullable: x.nullable && y.nullable })),
      alt: fc.tuple(tie('node'), tie('node')).map(([x, y]) => ({ s: `(?:${x.s}|${y.s})`, nullable: x.nullable || y.nullable })),
      rep: fc
        .tuple(tie('node'), fc.constantFrom('*', '+', '?', '*?', '+?', '??', '{1,2}', '{2}'))
        .filter(([x]) => !x.nullable)
        .map(([x, op]) => ({ s: `(?:${x.s})${op}`, nullable: op[0] === '*' || op[0] === '?' })),
      grp: tie('node').map((x) => ({ s: `(${x.s})`, nullable: x.nullable })),
    }));
    fc.assert(
      fc.property(node, fc.stringMatching(/^[abcA \n]{0,14}$/), fc.nat(5), ({ s: pattern }, text, start) => {
        const from = Math.min(start, text.length);
        const js = new RegExp(pattern, 'g');
        js.lastIndex = from;
        const expected = js.exec(text);
        const got = findMatch(RE2JS.compile(pattern), text, from);
        assert.deepEqual(got, expected === null ? undefined : [expected.index, expected.index + expected[0].length], `${pattern} in ${JSON.stringify(text)} from ${from}`);
      }),
      { numRuns: 3_000 },
    );
  });

  test('invalid patterns are errors', () => {
    assert.match(evalError("'abc'.find('[')").message, /Illegal regex: .*missing closing \]/);
    assert.match(evalError("'aa'.findAll('(a)\\\\1')").message, /Illegal regex/);
  });
});

describe('url library', () => {
  test('documented examples', () => {
    const u = "url('https://user:pass@example.com:80/path?query=val#fragment')";
    assert.equal(run(`type(${u}) == kubernetes.URL`), true);
    assert.equal(run("url('/absolute-path').getEscapedPath()"), '/absolute-path');
    assert.match(evalError("url('https://a:b:c/')").message, /URL parse error/);
    assert.match(evalError("url('../relative-path')").message, /URL parse error/);
    allTrue([`isURL('https://user:pass@example.com:80/path?query=val#fragment')`, "isURL('/absolute-path')"]);
    allFalse(["isURL('https://a:b:c/')", "isURL('../relative-path')"]);

    const cases: [string, JsonValue][] = [
      ["url('/path').getScheme()", ''],
      ["url('https://example.com/').getScheme()", 'https'],
      ["url('https://example.com:80/').getHost()", 'example.com:80'],
      ["url('https://example.com/').getHost()", 'example.com'],
      ["url('https://[::1]:80/').getHost()", '[::1]:80'],
      ["url('https://[::1]/').getHost()", '[::1]'],
      ["url('/path').getHost()", ''],
      ["url('https://example.com:80/').getHostname()", 'example.com'],
      ["url('https://127.0.0.1:80/').getHostname()", '127.0.0.1'],
      ["url('https://[::1]:80/').getHostname()", '::1'],
      ["url('/path').getHostname()", ''],
      ["url('https://example.com:80/').getPort()", '80'],
      ["url('https://example.com/').getPort()", ''],
      ["url('/path').getPort()", ''],
      ["url('https://example.com/path').getEscapedPath()", '/path'],
      ["url('https://example.com/path with spaces/').getEscapedPath()", '/path%20with%20spaces/'],
      ["url('https://example.com').getEscapedPath()", ''],
      ["url('https://example.com/path?k1=a&k2=b&k2=c').getQuery()", { k1: ['a'], k2: ['b', 'c'] }],
      ["url('https://example.com/path?key with spaces=value with spaces').getQuery()", { 'key with spaces': ['value with spaces'] }],
      ["url('https://example.com/path?').getQuery()", {}],
      ["url('https://example.com/path').getQuery()", {}],
    ];
    for (const [expr, want] of cases) assert.deepEqual(json(expr), want, expr);
  });

  test('Go net/url details the WHATWG parser would normalise away', () => {
    // Default ports are kept, scheme is lower-cased, hosts are not.
    assert.equal(run("url('https://Example.COM:443/').getPort()"), '443');
    assert.equal(run("url('HTTPS://Example.COM/').getScheme()"), 'https');
    assert.equal(run("url('HTTPS://Example.COM/').getHost()"), 'Example.COM');
    // Escapes are decoded and re-encoded as Go does; a valid original encoding is kept.
    assert.equal(run("url('https://h/a%2Fb/c').getEscapedPath()"), '/a%2Fb/c');
    assert.equal(run("url('https://h/caf%C3%A9').getEscapedPath()"), '/caf%C3%A9');
    assert.equal(run("url('https://h/café').getEscapedPath()"), '/caf%C3%A9');
    assert.deepEqual(json("url('https://h/?a=1+2&b=%20&c').getQuery()"), { a: ['1 2'], b: [' '], c: [''] });
    assert.equal(run("url('https://h/p#frag').getEscapedPath()"), '/p');
    assert.equal(run("url('mailto:someone@example.com').getScheme()"), 'mailto');
    allFalse(["isURL('')", "isURL('https://exa mple.com/')", "isURL('https://h/%zz')", "isURL('/a\\tb')", "isURL('example.com')"]);
    assert.equal(json("url('https://u@h:8080/a%20b?q=1#f')"), 'https://u@h:8080/a%20b?q=1#f');
  });
});

describe('ip and cidr libraries', () => {
  test('ip documented examples', () => {
    assert.equal(run("type(ip('127.0.0.1')) == net.IP"), true);
    assert.equal(run("ip('127.0.0.1').family()"), 4n);
    assert.equal(run("ip('::1').family()"), 6n);
    assert.match(evalError("ip('127.0.0.256')").message, /parse error/);
    assert.match(evalError("ip(':::1')").message, /parse error/);
    allTrue(["isIP('127.0.0.1')", "isIP('::1')", "ip('127.0.0.1').family() == 4", "ip('::1').family() == 6"]);
    allFalse(["isIP('127.0.0.256')", "isIP(':::1')"]);
    allTrue([
      "ip.isCanonical('127.0.0.1')",
      "ip.isCanonical('2001:db8::abcd')",
      "ip('0.0.0.0').isUnspecified()",
      "ip('::').isUnspecified()",
      "ip('127.0.0.1').isLoopback()",
      "ip('::1').isLoopback()",
      "ip('224.0.0.1').isLinkLocalMulticast()",
      "ip('ff02::1').isLinkLocalMulticast()",
      "ip('169.254.169.254').isLinkLocalUnicast()",
      "ip('fe80::1').isLinkLocalUnicast()",
      "ip('192.168.0.1').isGlobalUnicast()",
      "ip('2001:db8::abcd').isGlobalUnicast()",
    ]);
    allFalse([
      "ip.isCanonical('2001:DB8::ABCD')",
      "ip.isCanonical('2001:db8::0:0:0:abcd')",
      "ip('127.0.0.1').isUnspecified()",
      "ip('::1').isUnspecified()",
      "ip('192.168.0.1').isLoopback()",
      "ip('2001:db8::abcd').isLoopback()",
      "ip('224.0.1.1').isLinkLocalMulticast()",
      "ip('fd00::1').isLinkLocalMulticast()",
      "ip('192.168.0.1').isLinkLocalUnicast()",
      "ip('fd80::1').isLinkLocalUnicast()",
      "ip('255.255.255.255').isGlobalUnicast()",
      "ip('ff00::1').isGlobalUnicast()",
    ]);
  });

  test('Kubernetes refusals: mapped addresses, zones, leading zeros', () => {
    assert.match(evalError("ip('::ffff:1.2.3.4')").message, /IPv4-mapped IPv6 address "::ffff:1.2.3.4" is not allowed/);
    assert.match(evalError("ip('fe80::1%eth0')").message, /with zone value is not allowed/);
    assert.match(evalError("cidr('::ffff:1.2.3.0/120')").message, /IPv4-mapped/);
    allFalse(["isIP('::ffff:1.2.3.4')", "isIP('fe80::1%eth0')", "isIP('010.0.0.1')", "isIP('1.2.3')", "isIP('1::2::3')", "isIP('')"]);
    allTrue(["isIP('::ffff:1.2.3')".replace('::ffff:1.2.3', '1:2:3:4:5:6:1.2.3.4'), "isIP('::1.2.3.4')", "isIP('2001:DB8::1')"]);
    assert.equal(run("string(ip('2001:DB8:0:0:0:0:0:1'))"), '2001:db8::1');
    assert.equal(run("string(ip('1:0:0:1:0:0:0:1'))"), '1:0:0:1::1');
  });

  test('cidr documented examples', () => {
    allTrue([
      "isCIDR('192.168.0.0/16')",
      "isCIDR('::1/128')",
      "cidr('192.168.0.0/24').containsIP(ip('192.168.0.1'))",
      "cidr('192.168.0.0/24').containsIP('192.168.0.1')",
      "cidr('192.168.0.0/16').containsCIDR(cidr('192.168.10.0/24'))",
      "cidr('192.168.0.0/16').containsCIDR('192.168.10.0/24')",
      "cidr('192.168.0.1/24').ip() == ip('192.168.0.1')",
      "cidr('192.168.0.1/24').ip().family() == 4",
      "cidr('::1/128').ip() == ip('::1')",
      "cidr('::1/128').ip().family() == 6",
      "cidr('192.168.0.0/24').masked() == cidr('192.168.0.0/24')",
      "cidr('192.168.0.1/24').masked() == cidr('192.168.0.0/24')",
      "cidr('192.168.0.0/24') == cidr('192.168.0.0/24').masked()",
      "cidr('192.168.0.0/16').prefixLength() == 16",
      "cidr('::1/128').prefixLength() == 128",
      "type(cidr('10.0.0.0/8')) == net.CIDR",
    ]);
    allFalse([
      "isCIDR('192.168.0.0/33')",
      "isCIDR('::1/129')",
      "cidr('192.168.0.0/24').containsIP(ip('192.168.1.1'))",
      "cidr('192.168.0.0/24').containsIP('192.168.1.1')",
      "cidr('192.168.1.0/24').containsCIDR(cidr('192.168.2.0/24'))",
      "cidr('192.168.1.0/24').containsCIDR('192.168.2.0/24')",
      "cidr('192.168.0.1/24') == cidr('192.168.0.1/24').masked()",
    ]);
    assert.match(evalError("cidr('192.168.0.0/33')").message, /network address parse error/);
    assert.match(evalError("cidr('192.168.0.0/')").message, /bad bits after slash/);
    assert.equal(run("string(cidr('192.168.0.0/24'))"), '192.168.0.0/24');
  });

  test('containment for IPv4 and IPv6', () => {
    allTrue([
      "cidr('10.0.0.0/8').containsIP('10.255.255.255')",
      "cidr('0.0.0.0/0').containsIP('203.0.113.9')",
      "cidr('10.1.2.3/32').containsIP('10.1.2.3')",
      "cidr('2001:db8::/32').containsIP(ip('2001:db8::1'))",
      "cidr('2001:db8::/32').containsIP('2001:db8:ffff:ffff:ffff:ffff:ffff:ffff')",
      "cidr('2001:db8::/32').containsCIDR(cidr('2001:db8::/33'))",
      "cidr('2001:db8::/32').containsCIDR('2001:db8:1234::/48')",
      "cidr('::/0').containsCIDR('fe80::/10')",
      "cidr('2001:db8:1::/32').masked() == cidr('2001:db8::/32')",
    ]);
    allFalse([
      "cidr('10.0.0.0/8').containsIP('11.0.0.0')",
      "cidr('2001:db8::/32').containsIP(ip('2001:dc8::1'))",
      "cidr('2001:db8::/32').containsCIDR(cidr('2001:db8::/31'))",
      // Families never contain each other.
      "cidr('0.0.0.0/0').containsIP('::1')",
      "cidr('::/0').containsIP('127.0.0.1')",
      "cidr('::/0').containsCIDR('10.0.0.0/8')",
    ]);
    assert.match(evalError("cidr('10.0.0.0/8').containsIP('10.0.0.256')").message, /parse error/);
  });
});

describe('quantity library', () => {
  test('documented examples', () => {
    allTrue([
      "isQuantity('1.3G')",
      "isQuantity('1.3Gi')",
      "isQuantity('10000k')",
      "quantity('50000000G').isInteger()",
      "quantity('50k').isInteger()",
      "quantity('50k').asInteger() == 50000",
      "quantity('50k').sub(20000).asApproximateFloat() == 30000.0",
      "quantity('50k').add(quantity('20k')) == quantity('70k')",
      "quantity('50k').add(20) == quantity('50020')",
      "quantity('50k').sub(quantity('20k')) == quantity('30k')",
      "quantity('50k').sub(20000) == quantity('30k')",
      "quantity('50k').add(20).sub(quantity('100k')).sub(-50000) == quantity('20')",
      "quantity('200M').compareTo(quantity('0.2G')) == 0",
      "quantity('50M').compareTo(quantity('50Mi')) == -1",
      "quantity('50Mi').compareTo(quantity('50M')) == 1",
      "quantity('150Mi').isGreaterThan(quantity('100Mi'))",
      "quantity('50M').isLessThan(quantity('100M'))",
      "quantity('200M') == quantity('0.2G') && quantity('0.2G') == quantity('200M')",
      "quantity('2M') == quantity('0.002G') && quantity('2000k') == quantity('2M')",
      "quantity('50k').add(quantity('20')) == quantity('50.02k')",
      "quantity('50k').sub(quantity('20')) == quantity('49.98k')",
      "quantity('50k').add(20).sub(quantity('100k')).asInteger() == -49980",
      "quantity('50.703k').asApproximateFloat() == 50703.0",
      "type(quantity('1')) == kubernetes.Quantity",
    ]);
    allFalse([
      "isQuantity('1,3G')",
      "isQuantity('200K')",
      "isQuantity('Three')",
      "isQuantity('Mi')",
      "isQuantity('20Mo')",
      "isQuantity('10Mm')",
      "isQuantity('')",
      "quantity('9999999999999999999999999999999999999G').isInteger()",
      "quantity('50Mi').isGreaterThan(quantity('100Mi'))",
      "quantity('100M').isLessThan(quantity('50M'))",
      "quantity('200M') == quantity('0.3G')",
      "quantity('50k').add(20).isLessThan(quantity('50020'))",
    ]);
    assert.match(evalError("quantity('9999999999999999999999999999999999999G').asInteger()").message, /cannot convert value to integer/);
    assert.match(evalError("quantity('200K')").message, /unable to parse quantity's suffix/);
    assert.match(evalError("quantity('Three')").message, /quantities must match the regular expression/);
    assert.match(evalError("quantity('10Mo')").message, /quantities must match the regular expression/);
    assert.match(evalError("quantity('Mi')").message, /quantities must match the regular expression/);
  });

  test('suffixes and exponents', () => {
    allTrue([
      "quantity('1Ki') == quantity('1024')",
      "quantity('1Mi') == quantity('1048576')",
      "quantity('1Gi').compareTo(quantity('1073741824')) == 0",
      "quantity('1Ti') == quantity('1099511627776')",
      "quantity('1Pi') == quantity('1125899906842624')",
      "quantity('1Ei').asInteger() == 1152921504606846976",
      "quantity('1k') == quantity('1e3')",
      "quantity('1k') == quantity('1E3')",
      "quantity('1M') == quantity('1e6')",
      "quantity('1E') == quantity('1e18')",
      "quantity('1m') == quantity('1e-3')",
      "quantity('1u') == quantity('1e-6')",
      "quantity('1n') == quantity('1e-9')",
      "quantity('1.5Gi') == quantity('1536Mi')",
      "quantity('0.5Ki') == quantity('512')",
      "quantity('+1.') == quantity('1')",
      "quantity('.5') == quantity('500m')",
      "quantity('-0') == quantity('0')",
      "quantity('1e+3') == quantity('1k')",
    ]);
  });

  test('arithmetic is exact', () => {
    allTrue([
      // 0.1 + 0.2 is 0.30000000000000004 in binary floating point.
      "quantity('0.1').add(quantity('0.2')) == quantity('0.3')",
      "quantity('100m').add(quantity('200m')).asApproximateFloat() == 0.3",
      "quantity('1n').add(quantity('999999999n')) == quantity('1')",
      "quantity('1n').add(quantity('999999999n')).isInteger()",
      "quantity('9223372036854775807').isInteger()",
      "!quantity('9223372036854775807').add(1).isInteger()",
      "quantity('9223372036854775807').add(1).sub(1).asInteger() == 9223372036854775807",
      "quantity('123456789012345678901234567890').sub(quantity('123456789012345678901234567889')) == quantity('1')",
      "quantity('1.5').sign() == 1 && quantity('-1.5').sign() == -1 && quantity('0').sign() == 0",
      "!quantity('1.5').isInteger()",
      "quantity('1000m').isInteger() && quantity('1000m').asInteger() == 1",
      "quantity('-2.5Ki').asApproximateFloat() == -2560.0",
    ]);
    assert.match(evalError("quantity('1.5').asInteger()").message, /cannot convert value to integer/);
  });

  test('Kubernetes rounding and capping', () => {
    allTrue([
      // Finer than a nano-unit rounds up, away from zero.
      "quantity('0.1n') == quantity('1n')",
      "quantity('1.0000000001') == quantity('1000000001n')",
      "quantity('-0.1n') == quantity('-1n')",
      "quantity('1e-100') == quantity('1n')",
      "quantity('0e-100') == quantity('0')",
      // Binary-SI values are capped at 2^63-1.
      "quantity('8Ei') == quantity('9223372036854775807')",
      "quantity('-8Ei') == quantity('-9223372036854775807')",
      // Decimal values are not capped.
      "quantity('9223372036854775808').compareTo(quantity('9223372036854775807')) == 1",
    ]);
  });

  test('overloads are per type', () => {
    assert.match(evalError("quantity('1').isGreaterThan(semver('1.0.0'))").message, /no matching overload/);
    assert.match(evalError("quantity('1').add('1')").message, /no matching overload/);
  });
});

describe('semver library', () => {
  test('documented examples', () => {
    allTrue([
      "type(semver('1.0.0')) == kubernetes.Semver",
      "isSemver('1.0.0')",
      "isSemver('0.1.0-alpha.1')",
      "semver('v1.0.0', true) == semver('1.0.0')",
      "semver('1.0', true) == semver('1.0.0')",
      "semver('01.01.01', true) == semver('1.1.1')",
      "isSemver('v1.0', true)",
      "semver('1.2.3').major() == 1",
      "semver('1.2.3').minor() == 2",
      "semver('1.2.3').patch() == 3",
      "semver('1.2.3').compareTo(semver('1.2.3')) == 0",
      "semver('1.2.3').compareTo(semver('2.0.0')) == -1",
      "semver('1.2.3').compareTo(semver('0.1.2')) == 1",
      "semver('2.0.0').isGreaterThan(semver('1.9.9'))",
      "semver('1.9.9').isLessThan(semver('2.0.0'))",
    ]);
    allFalse(["isSemver('hello')", "isSemver('v1.0')", "isSemver('200K')", "isSemver('Three')", "isSemver('Mi')"]);
    for (const bad of ['200K', 'Three', 'Mi']) assert.ok(evalError(`semver('${bad}')`) instanceof CelEvalError);
  });

  test('semver.org precedence', () => {
    // https://semver.org/#spec-item-11
    const order = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '2.0.0', '2.1.0', '2.1.1'];
    for (let i = 0; i + 1 < order.length; i++) {
      const [a, b] = [order[i], order[i + 1]];
      assert.equal(run(`semver('${a}').isLessThan(semver('${b}'))`), true, `${a} < ${b}`);
      assert.equal(run(`semver('${b}').isGreaterThan(semver('${a}'))`), true, `${b} > ${a}`);
      assert.equal(run(`semver('${a}').compareTo(semver('${b}'))`), -1n, `${a} vs ${b}`);
    }
    // Build metadata does not count for precedence or equality.
    allTrue([
      "semver('1.0.0+20130313144700').compareTo(semver('1.0.0+exp.sha.5114f85')) == 0",
      "semver('1.0.0-alpha+001') == semver('1.0.0-alpha')",
      "semver('1.0.0-beta+exp.sha.5114f85').isLessThan(semver('1.0.0'))",
    ]);
  });

  test('strict SemVer 2.0.0 syntax', () => {
    allFalse([
      "isSemver('1.0')",
      "isSemver('01.0.0')",
      "isSemver('1.0.0-01')",
      "isSemver('1.0.0-')",
      "isSemver('1.0.0+')",
      "isSemver('1.0.0-al..pha')",
      "isSemver('1.0.0-al_pha')",
      "isSemver('1.0.0.0')",
      "isSemver('')",
      "isSemver('1.0-rc.1', true)",
    ]);
    allTrue(["isSemver('1.0.0-0A.is.legal')", "isSemver('1.0.0-x-y-z.--')", "isSemver('1.0.0+21AF26D3----117B344092BD')"]);
  });
});

describe('format (strings extension)', () => {
  test('Kubernetes format examples', () => {
    assert.equal(run("'%s/%s'.format(['ns', 'name'])"), 'ns/name');
    assert.equal(run("'replicas: %d'.format([3])"), 'replicas: 3');
    assert.equal(run("'%.2f'.format([3.14159])"), '3.14');
    assert.equal(run("'%x'.format([255])"), 'ff');
    assert.equal(run("'%b'.format([5])"), '101');
    assert.equal(run("'%o'.format([8])"), '10');
    assert.equal(run("'%s'.format([[1, 'a']])"), '[1, a]');
    assert.ok(evalError("'%d'.format(['x'])") instanceof CelEvalError);
  });
});

describe('Kubernetes object values', () => {
  test('message literals cannot forge them', () => {
    for (const src of ["kubernetes.Quantity{nanos: '1'}", "net.IP{addr: b'\\x01\\x02\\x03\\x04'}", 'net.CIDR{bits: 3}', "kubernetes.URL{host: 'x'}", 'kubernetes.Semver{major: 1u}']) {
      assert.throws(
        () => compileExpression(src, { env }),
        (e: unknown) => e instanceof CelCompileError && e.code === 'CEL_INVALID',
        src,
      );
    }
  });

  test('fromCelValue renders them as their canonical strings', () => {
    assert.equal(json("quantity('1.5Gi')"), '1610612736');
    assert.equal(json("quantity('1500m')"), '1500m');
    assert.equal(json("quantity('1.5u')"), '1500n');
    assert.equal(json("semver('1.2.3-rc.1+build')"), '1.2.3-rc.1');
    assert.equal(json("ip('2001:DB8::1')"), '2001:db8::1');
    assert.equal(json("cidr('10.1.0.0/16')"), '10.1.0.0/16');
    assert.equal(json("url('HTTPS://h:8443/a b?x=1')"), 'https://h:8443/a%20b?x=1');
  });
});

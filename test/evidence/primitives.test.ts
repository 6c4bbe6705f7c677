import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  canonicalize,
  decodeBase64Strict,
  digestBytes,
  digestFile,
  formatDigest,
  parseDigest,
  preAuthEncoding,
  VerificationError,
} from '../../src/evidence/index.ts';
import { tempDir } from '../helpers/evidence.ts';

describe('DSSE pre-authentication encoding', () => {
  test('matches the DSSE protocol spec example', () => {
    // DSSE v1.0 protocol.md, "Test case".
    const pae = preAuthEncoding('http://example.com/HelloWorld', Buffer.from('hello world'));
    assert.equal(pae.toString(), 'DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });

  test('lengths count bytes, not characters', () => {
    const pae = preAuthEncoding('tÿpe', Buffer.from('é'));
    assert.equal(pae.toString('utf8'), 'DSSEv1 5 tÿpe 2 é');
  });

  test('an empty payload is length 0', () => {
    assert.equal(preAuthEncoding('t', Buffer.alloc(0)).toString(), 'DSSEv1 1 t 0 ');
  });
});

describe('RFC 8785 canonical JSON', () => {
  test('sorts keys by UTF-16 code units and serializes numbers as ECMAScript does', () => {
    // RFC 8785 section 3.2.2 and appendix B examples.
    const input = JSON.parse('{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"literals":[null,true,false]}');
    assert.equal(
      canonicalize(input),
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27]}',
    );
    assert.equal(canonicalize({ '\u20ac': 1, '\r': 2, '\ufb33': 3, '1': 4, '\u00e9': 5 }), '{"\\r":2,"1":4,"\u00e9":5,"\u20ac":1,"\ufb33":3}');
  });
});

describe('strict base64', () => {
  test('decodes standard and URL-safe alphabets, padded or not', () => {
    assert.equal(decodeBase64Strict('aGk=', 'f').toString(), 'hi');
    assert.equal(decodeBase64Strict('aGk', 'f').toString(), 'hi');
    assert.deepEqual(decodeBase64Strict('-_8=', 'f'), Buffer.from([0xfb, 0xff]));
  });

  for (const bad of ['aG!k', 'aGk==', 'a', 'aGk=x', 'a+b_', 'aGl=', ' aGk=', 'aGk=\n']) {
    test(`rejects ${JSON.stringify(bad)} that Node's decoder would accept silently`, () => {
      assert.throws(() => decodeBase64Strict(bad, 'field'), (e: unknown) => e instanceof VerificationError && e.code === 'MALFORMED');
    });
  }

  test('rejects non-strings', () => {
    assert.throws(() => decodeBase64Strict(12, 'field'), /field must be a base64 string/);
  });
});

describe('digests', () => {
  test('sha256 and sha512 of "abc" (FIPS 180-2 vectors)', () => {
    assert.equal(digestBytes('abc').hex, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(
      digestBytes('abc', 'sha512').hex,
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    );
  });

  test('digestFile streams a file to the same value', async () => {
    const path = join(tempDir(), 'abc');
    writeFileSync(path, 'abc');
    assert.equal(formatDigest(await digestFile(path)), 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(execFileSync('sha256sum', [path]).toString().split(' ')[0], (await digestFile(path)).hex);
  });

  test('parseDigest accepts only lowercase hex of the right length', () => {
    assert.deepEqual(parseDigest('sha256:' + 'a'.repeat(64)), { algorithm: 'sha256', hex: 'a'.repeat(64) });
    for (const bad of ['sha256:' + 'A'.repeat(64), 'sha256:' + 'a'.repeat(63), 'md5:' + 'a'.repeat(32), 'sha256' + 'a'.repeat(64), 'sha512:' + 'a'.repeat(64)]) {
      assert.throws(() => parseDigest(bad), /is not a digest/);
    }
  });
});

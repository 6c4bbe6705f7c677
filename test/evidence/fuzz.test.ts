import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  BundleVerifier,
  decodeBase64Strict,
  DEFAULT_LIMITS,
  parseBundle,
  TrustedKeys,
  validateStatement,
  VerificationError,
} from '../../src/evidence/index.ts';
import { freshKey, signedBundle } from '../helpers/evidence.ts';

// Parsers must answer every input with a value or a VerificationError carrying
// a code: never another exception, never a hang.
const onlyVerificationErrors = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof VerificationError)) throw err;
  }
};

describe('fuzzing the evidence parsers', () => {
  const key = freshKey();
  const verifier = new BundleVerifier(new TrustedKeys([key]));
  const good = JSON.stringify(signedBundle(key));

  test('parseBundle on arbitrary JSON values and strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.string(), fc.object()), (value) => {
        onlyVerificationErrors(() => parseBundle(value, DEFAULT_LIMITS));
        onlyVerificationErrors(() => parseBundle(JSON.stringify(value) ?? '', DEFAULT_LIMITS));
      }),
      { numRuns: 2000 },
    );
  });

  test('validateStatement on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => onlyVerificationErrors(() => validateStatement(value, DEFAULT_LIMITS))),
      { numRuns: 2000 },
    );
  });

  test('verify never throws, and a mutated bundle never verifies with a different statement', () => {
    const original = verifier.verify(good);
    assert.ok(original.ok);
    fc.assert(
      fc.property(fc.nat({ max: good.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const bytes = Buffer.from(good);
        bytes[at] = bytes[at]! ^ xor;
        const r = verifier.verify(bytes);
        if (r.ok) assert.deepEqual(r.statement, original.statement);
        else assert.match(r.code, /^[A-Z_]+$/);
      }),
      { numRuns: 3000 },
    );
  });

  test('verify on bundles with arbitrary field values', () => {
    const b = JSON.parse(good) as Record<string, unknown>;
    fc.assert(
      fc.property(fc.constantFrom('mediaType', 'verificationMaterial', 'dsseEnvelope'), fc.jsonValue(), (field, value) => {
        const r = verifier.verify({ ...b, [field]: value });
        assert.equal(r.ok, false);
      }),
      { numRuns: 1000 },
    );
  });

  test('strict base64: every encoding round-trips, every other string is rejected or canonical', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const b64 = Buffer.from(bytes).toString('base64');
        assert.deepEqual(new Uint8Array(decodeBase64Strict(b64, 'f')), bytes);
        assert.deepEqual(new Uint8Array(decodeBase64Strict(Buffer.from(bytes).toString('base64url'), 'f')), bytes);
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 24 }), (text) => {
        let decoded: Buffer;
        try {
          decoded = decodeBase64Strict(text, 'f');
        } catch (err) {
          assert.ok(err instanceof VerificationError);
          return;
        }
        // Whatever is accepted is one spelling of exactly these bytes.
        const norm = text.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
        assert.equal(decoded.toString('base64').replace(/=+$/, ''), norm);
      }),
      { numRuns: 5000 },
    );
  });
});

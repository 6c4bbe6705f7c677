import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildStatement, STATEMENT_TYPE_V1, validateStatement, VerificationError } from '../../src/evidence/index.ts';

const valid = () => ({
  _type: STATEMENT_TYPE_V1,
  subject: [{ name: 'app', digest: { sha256: 'a'.repeat(64) } }],
  predicateType: 'https://slsa.dev/provenance/v1',
  predicate: { buildDefinition: {} },
});

const invalid = (value: unknown, pattern: RegExp) =>
  assert.throws(
    () => validateStatement(value),
    (e: unknown) => e instanceof VerificationError && e.code === 'STATEMENT_INVALID' && pattern.test(e.message),
  );

describe('in-toto Statement v1', () => {
  test('builds a v1 statement that validates', () => {
    const s = buildStatement({ subjects: valid().subject, predicateType: valid().predicateType });
    assert.equal(s._type, STATEMENT_TYPE_V1);
    assert.deepEqual(s.predicate, {});
  });

  test('unknown fields are preserved, at the top and in subjects', () => {
    const input = { ...valid(), extra: { x: 1 }, subject: [{ ...valid().subject[0], uri: 'pkg:npm/x@1', annotations: { a: 'b' } }] };
    const out = validateStatement(structuredClone(input));
    assert.deepEqual(out, input);
  });

  test('accepts Statement v0.1 (older npm provenance)', () => {
    assert.equal(validateStatement({ ...valid(), _type: 'https://in-toto.io/Statement/v0.1' })._type, 'https://in-toto.io/Statement/v0.1');
  });

  test('rejects a wrong _type', () => invalid({ ...valid(), _type: 'https://in-toto.io/Statement/v2' }, /_type/));
  test('rejects an empty subject list', () => invalid({ ...valid(), subject: [] }, /non-empty/));
  test('rejects a subject without a name', () => invalid({ ...valid(), subject: [{ digest: { sha256: 'a'.repeat(64) } }] }, /name/));
  test('rejects an empty digest map', () => invalid({ ...valid(), subject: [{ name: 'x', digest: {} }] }, /digest/));
  test('rejects uppercase or short hex for known algorithms', () => {
    invalid({ ...valid(), subject: [{ name: 'x', digest: { sha256: 'A'.repeat(64) } }] }, /64 lowercase hex/);
    invalid({ ...valid(), subject: [{ name: 'x', digest: { sha512: 'a'.repeat(64) } }] }, /128 lowercase hex/);
  });
  test('accepts unknown digest algorithms as opaque strings', () => {
    assert.doesNotThrow(() => validateStatement({ ...valid(), subject: [{ name: 'x', digest: { gitCommit: 'abc123' } }] }));
  });
  test('rejects a predicateType that is not a URI', () => invalid({ ...valid(), predicateType: 'provenance' }, /URI/));
  test('rejects a predicate that is not an object', () => invalid({ ...valid(), predicate: [1] }, /predicate must be/));
  test('rejects non-objects', () => invalid('statement', /not a JSON object/));
  test('counts subjects against the limit', () => {
    const many = { ...valid(), subject: Array.from({ length: 11 }, (_, i) => ({ name: `s${i}`, digest: { sha256: 'b'.repeat(64) } })) };
    assert.throws(() => validateStatement(many, { maxSubjects: 10 }), (e: unknown) => e instanceof VerificationError && e.code === 'LIMIT_EXCEEDED');
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { celCompiler, evidenceFor, policiesFromSources } from '../../src/policy/index.ts';

const policy = (expression: string) => ({
  file: 'p.yaml',
  text: `apiVersion: warrant.dev/v1alpha1\nkind: Policy\nmetadata: { name: p }\nspec:\n  validations:\n    - expression: ${JSON.stringify(expression)}\n`,
});

const evidence = {
  subjects: ['sha256:' + 'a'.repeat(64)],
  statements: [{ predicateType: 'x', signer: 'k', predicate: { big: true } }],
  provenance: { present: true, builderId: 'b' },
  sbom: { present: true, components: [{ name: 'c', version: '1', purl: 'pkg:npm/c@1' }] },
};

describe('evidence passed to a policy set', () => {
  test('only the sections some expression names are passed', () => {
    const set = policiesFromSources([policy('evidence.provenance.present')], celCompiler);
    assert.deepEqual(Object.keys(evidenceFor(set, evidence)), ['provenance']);
  });

  test('a set naming statements or sbom gets them, unchanged', () => {
    const set = policiesFromSources([policy("evidence.statements.exists(s, s.predicateType == 'x') && evidence.sbom.present")], celCompiler);
    const passed = evidenceFor(set, evidence);
    assert.deepEqual(passed.statements, evidence.statements);
    assert.deepEqual(passed.sbom, evidence.sbom);
    assert.equal(passed.provenance, undefined);
  });

  test('when every section is named the same object is passed', () => {
    const set = policiesFromSources([policy('size(evidence.subjects) > 0 && size(evidence.statements) > 0 && evidence.provenance.present && evidence.sbom.present')], celCompiler);
    assert.equal(evidenceFor(set, evidence), evidence);
  });
});

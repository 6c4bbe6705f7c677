import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openWarrant } from '../../src/intake/index.ts';
import { auditLog, leafHash, verifyInclusion } from '../../src/ledger/index.ts';
import { tempDir } from '../helpers/evidence.ts';

describe('audit events in the log', () => {
  test('Warrant.audit appends a canonical warrant.audit entry that is proven and audited like evidence', async () => {
    const warrant = await openWarrant(tempDir(), { WARRANT_DB: '' });
    try {
      const first = await warrant.audit({ actor: 'alice', action: 'policy.publish', target: 'policy:v7', outcome: 'success' });
      const second = await warrant.audit({
        time: '2026-12-03T00:00:00.000Z',
        actor: 'ci',
        action: 'deploy',
        target: 'app@sha256:' + 'a'.repeat(64),
        outcome: 'indeterminate',
        details: { reason: 'evidence store unavailable' },
      });
      assert.equal(second, first + 1n);
      const [entry] = await warrant.store.entries(second, 1);
      assert.equal(
        entry!.toString(),
        '{"apiVersion":"0.0.1","kind":"warrant.audit","spec":{"action":"deploy","actor":"ci",' +
          '"details":{"reason":"evidence store unavailable"},"outcome":"indeterminate",' +
          `"target":"app@sha256:${'a'.repeat(64)}","time":"2026-12-03T00:00:00.000Z"}}`,
      );
      const [firstEntry] = await warrant.store.entries(first, 1);
      const parsed = JSON.parse(firstEntry!.toString()) as { spec: { time: string; actor: string } };
      assert.equal(parsed.spec.actor, 'alice');
      assert.ok(!Number.isNaN(Date.parse(parsed.spec.time)), 'a time is filled in');
      const checkpoint = await warrant.ledger.checkpoint();
      const proof = await warrant.ledger.inclusionProof(second, checkpoint.size);
      verifyInclusion(second, checkpoint.size, leafHash(entry!), proof, checkpoint.root);
      const report = await auditLog(warrant.store, warrant.logKey.verifier, warrant.logKey.origin);
      assert.ok(report.ok, report.problem?.message);
      assert.equal(report.entriesChecked, 2n);
    } finally {
      await warrant.close();
    }
  });

  test('an audit event over the entry size limit is refused and nothing is appended', async () => {
    const warrant = await openWarrant(tempDir(), { WARRANT_DB: '' });
    try {
      await assert.rejects(
        warrant.audit({ actor: 'x', action: 'y', target: 'z', outcome: 'failure', details: { blob: 'x'.repeat(70_000) } }),
        /over the tlog-tiles limit of 65535/,
      );
      assert.equal((await warrant.store.treeHead()).size, 0n);
    } finally {
      await warrant.close();
    }
  });
});

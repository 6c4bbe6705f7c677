import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, test } from 'node:test';
import { exportPublicKeyPem } from '../../src/evidence/index.ts';
import { openWarrant } from '../../src/intake/index.ts';
import { auditEntry } from '../../src/ledger/index.ts';
import { buildException, saveException } from '../../src/policy/index.ts';
import { buildServer } from '../../src/server/index.ts';
import { runCli } from '../helpers/cli.ts';
import { freshKey, tempDir } from '../helpers/evidence.ts';

/** The value of one unlabelled or labelled sample in Prometheus text exposition. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

describe('GET /metrics', () => {
  test('Prometheus text with the correctness signals: invariant violations, exceptions in force, log size', async () => {
    const dir = tempDir();
    const home = join(dir, 'home');
    const key = freshKey();
    writeFileSync(join(dir, 'k.pub'), exportPublicKeyPem(key));
    assert.equal((await runCli(['trust', 'add', join(dir, 'k.pub')], { env: { WARRANT_HOME: home } })).code, 0);
    const warrant = await openWarrant(home, { WARRANT_DB: '' });
    const app = buildServer({ warrant });
    try {
      const scrape = async () => {
        const r = await app.inject({ method: 'GET', url: '/metrics' });
        assert.equal(r.statusCode, 200);
        assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
        return r.body;
      };
      let text = await scrape();
      assert.match(text, /# TYPE warrant_invariant_violations_total counter/);
      assert.equal(sample(text, 'warrant_invariant_violations_total', '{invariant="ledger"}'), 0);
      assert.equal(sample(text, 'warrant_policy_exceptions_active'), 0);
      assert.equal(sample(text, 'warrant_log_size'), 0);

      const now = new Date();
      const bundle = buildException({
        key,
        policy: 'p',
        subjects: [`sha256:${'3'.repeat(64)}`],
        owner: 'ops@example.com',
        reason: 'test',
        expires: new Date(now.getTime() + 86_400_000).toISOString(),
        now,
      });
      await saveException(home, bundle, 'one');
      for (let i = 0; i < 3; i++) {
        await warrant.ledger.append(auditEntry({ time: now.toISOString(), actor: 't', action: `a${i}`, target: 'x', outcome: 'success' }));
      }
      await warrant.ledger.checkpoint();
      text = await scrape();
      assert.equal(sample(text, 'warrant_policy_exceptions_active'), 1);
      assert.equal(sample(text, 'warrant_log_size'), 3);

      // Tamper with a stored node: the ledger refuses to sign, and the violation is counted.
      await warrant.ledger.append(auditEntry({ time: now.toISOString(), actor: 't', action: 'a3', target: 'x', outcome: 'success' }));
      const db = new DatabaseSync(join(home, 'warrant.db'));
      db.prepare('UPDATE log_node SET hash = ? WHERE level = 1 AND idx = 0').run(Buffer.alloc(32, 7));
      db.close();
      await assert.rejects(warrant.ledger.checkpoint(), /INVARIANT|refusing to sign/);
      text = await scrape();
      assert.equal(sample(text, 'warrant_invariant_violations_total', '{invariant="ledger"}'), 1);
    } finally {
      await app.close();
      await warrant.close();
    }
  });
});

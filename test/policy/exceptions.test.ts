import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { attest, exportPrivateKeyPem, TrustedKeys } from '../../src/evidence/index.ts';
import { activeExceptions, applyExceptions, buildException, countActiveExceptions, exceptionFor, exceptionsDir, POLICY_EXCEPTION_PREDICATE, PolicyExceptionError, saveException, verifyException, type PolicyResult } from '../../src/policy/index.ts';
import { runCli } from '../helpers/cli.ts';
import { logState, RESOURCES, setup } from './helpers.ts';
import { freshKey } from '../helpers/evidence.ts';

const WEB_DIGEST = `sha256:${'1'.repeat(64)}`;

const DAY = 24 * 60 * 60 * 1000;
const key = freshKey();
const keys = new TrustedKeys([key]);
const OTHER_DIGEST = `sha256:${'2'.repeat(64)}`;
const at = (ms: number) => new Date(ms).toISOString();
const request = (now: number) => ({
  policy: 'images-pinned-and-built',
  subjects: [WEB_DIGEST],
  owner: 'ops@example.com',
  reason: 'builder migration',
  expires: at(now + 10 * DAY),
});
const invalid = (err: unknown) => err instanceof PolicyExceptionError && err.code === 'EXCEPTION_INVALID';

describe('policy exceptions (library)', () => {
  test('a signed exception verifies with its terms, and applies only to its policy and subjects until it expires', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    const e = verifyException(JSON.stringify(buildException({ key, ...request(now), now: new Date(now) })), keys);
    assert.equal(e.policy, 'images-pinned-and-built');
    assert.deepEqual(e.subjects, [WEB_DIGEST]);
    assert.equal(e.owner, 'ops@example.com');
    assert.equal(e.expires, '2030-01-11T00:00:00.000Z');
    assert.equal(e.signer, key.keyId);
    assert.match(e.id, /^sha256:[0-9a-f]{64}$/);
    const before = new Date(now + DAY);
    assert.equal(exceptionFor([e], 'images-pinned-and-built', [WEB_DIGEST], before), e);
    assert.equal(exceptionFor([e], 'replica-limit', [WEB_DIGEST], before), undefined, 'another policy');
    assert.equal(exceptionFor([e], 'images-pinned-and-built', [OTHER_DIGEST], before), undefined, 'another subject');
    assert.equal(exceptionFor([e], 'images-pinned-and-built', [WEB_DIGEST, OTHER_DIGEST], before), undefined, 'a resource with an unexcepted image too');
    assert.equal(exceptionFor([e], 'images-pinned-and-built', [], before), undefined, 'a resource naming no digest');
    assert.equal(exceptionFor([e], 'images-pinned-and-built', [WEB_DIGEST], new Date(now + 10 * DAY)), undefined, 'expired');

    const failed = {
      policy: 'images-pinned-and-built', result: 'fail', effect: 'deny', actions: ['Deny'], message: 'no provenance', validations: [],
    } as unknown as PolicyResult;
    const [applied] = applyExceptions([failed], [e], [WEB_DIGEST], before);
    assert.equal(applied!.result, 'pass');
    assert.equal(applied!.effect, 'allow');
    assert.deepEqual(applied!.exception, { id: e.id, owner: e.owner, reason: e.reason, expires: e.expires });
    assert.match(applied!.message!, /excepted until 2030-01-11T00:00:00.000Z by ops@example.com \(builder migration\); failed: no provenance/);
    assert.deepEqual(applyExceptions([failed], [e], [WEB_DIGEST], new Date(now + 11 * DAY)), [failed]);
  });

  test('an exception in the past, beyond 90 days, without owner or reason, or with a bad subject is refused', () => {
    const now = Date.now();
    const base = { key, ...request(now), now: new Date(now) };
    assert.throws(() => buildException({ ...base, expires: at(now - 1000) }), invalid);
    assert.throws(() => buildException({ ...base, expires: at(now + 91 * DAY) }), /more than 90 days away/);
    assert.throws(() => buildException({ ...base, expires: 'next tuesday' }), /RFC 3339/);
    assert.throws(() => buildException({ ...base, owner: 'nobody' }), /must be an email/);
    assert.throws(() => buildException({ ...base, reason: ' ' }), /needs a reason/);
    assert.throws(() => buildException({ ...base, subjects: ['sha256:abc'] }), invalid);
    assert.throws(() => buildException({ ...base, subjects: [] }), invalid);
  });

  test('a hand-signed exception with a one-year expiry, or by an untrusted key, does not verify', () => {
    const now = Date.now();
    const long = attest({
      key,
      subjects: [{ name: WEB_DIGEST, digest: { sha256: '1'.repeat(64) } }],
      predicateType: POLICY_EXCEPTION_PREDICATE,
      predicate: { ...request(now), subjects: undefined, expires: at(now + 365 * DAY), createdAt: at(now) },
    });
    assert.throws(() => verifyException(JSON.stringify(long.bundle), keys), /EXCEPTION_UNVERIFIED|more than 90 days/);
    const stranger = buildException({ key: freshKey(), ...request(now) });
    assert.throws(() => verifyException(JSON.stringify(stranger), keys), /does not verify: KEY_UNKNOWN/);
  });
});

describe('warrant policy exception add / exceptions / eval', () => {
  test('an exception is logged, listed, counted, applied in eval to its subject only, and stops applying when it expires', async () => {
    const s = await setup();
    const trusted = new TrustedKeys([s.key]);
    // An exception that has already expired, written through the library with an injected clock.
    const then = Date.now() - 40 * DAY;
    const expired = buildException({ key: s.key, ...request(then), now: new Date(then) });
    await saveException(s.home, expired, verifyException(JSON.stringify(expired), trusted).id);
    assert.equal(await countActiveExceptions(s.home, trusted), 0);

    const evalWeb = async () => {
      const r = await runCli(['policy', 'eval', '--policy', s.policies, '--input', RESOURCES, '--json'], { env: s.env });
      type R = { policy: string; resource: string; result: string; message: string; exception?: { owner: string }; validations: { result: string }[] };
      const results = (JSON.parse(r.stdout) as { results: R[] }).results;
      return { code: r.code, get: (policy: string, resource: string) => results.find((x) => x.policy === policy && x.resource === resource)! };
    };
    const before = await evalWeb();
    assert.equal(before.get('images-pinned-and-built', 'prod/web').result, 'fail', 'the expired exception does not apply');
    const listed = await runCli(['policy', 'exceptions'], { env: s.env });
    assert.equal(listed.stdout, '');
    assert.match(listed.stderr, /no active exceptions/);
    const all = await runCli(['policy', 'exceptions', '--all', '--json'], { env: s.env });
    assert.deepEqual((JSON.parse(all.stdout) as { exceptions: { status: string }[] }).exceptions.map((e) => e.status), ['expired']);

    const logBefore = await logState(s);
    const add = await runCli(
      ['policy', 'exception', 'add', '--policy', 'images-pinned-and-built', '--subject', WEB_DIGEST, '--owner', 'ops@example.com',
        '--reason', 'builder migration', '--expires', at(Date.now() + 10 * DAY), '--key', s.keyFile],
      { env: s.env },
    );
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /exception sha256:[0-9a-f]{64} to images-pinned-and-built for 1 subject\(s\), owner ops@example.com, .*log index \d+/);
    const logAfter = await logState(s);
    assert.equal(logAfter.size, logBefore.size + 2n, 'the signed exception and its audit event');
    assert.ok(logAfter.actions.includes('policy.exception.add'));

    const active = await runCli(['policy', 'exceptions', '--json'], { env: s.env });
    const shown = (JSON.parse(active.stdout) as { exceptions: { status: string; owner: string; subjects: string[] }[] }).exceptions;
    assert.deepEqual(shown.map((e) => [e.status, e.owner, e.subjects]), [['active', 'ops@example.com', [WEB_DIGEST]]]);
    const table = await runCli(['policy', 'exceptions'], { env: s.env });
    assert.match(table.stdout, /^active\s+images-pinned-and-built\s+ops@example.com\s+/m);
    assert.doesNotMatch(table.stdout, /expired/);
    assert.equal(await countActiveExceptions(s.home, trusted), 1);
    assert.equal((await activeExceptions(s.home, trusted, new Date(Date.now() + 11 * DAY))).length, 0, 'expiry needs no action');

    const after = await evalWeb();
    const web = after.get('images-pinned-and-built', 'prod/web');
    assert.equal(web.result, 'pass');
    assert.equal(web.exception?.owner, 'ops@example.com');
    assert.match(web.message, /^excepted until .* by ops@example.com \(builder migration\); failed: no trusted provenance for web$/);
    assert.deepEqual(web.validations.map((v) => v.result), ['pass', 'fail', 'pass'], 'what failed is still shown');
    // The batch deployment names no excepted digest: it still fails, and the run is still denied.
    assert.equal(after.get('images-pinned-and-built', 'prod/batch').result, 'fail');
    assert.equal(after.code, 1);
  });

  test('an expiry in the past or beyond 90 days is a usage error, an untrusted key is refused, and nothing is written', async () => {
    const s = await setup();
    const args = (expires: string, keyFile = s.keyFile) => [
      'policy', 'exception', 'add', '--policy', 'p', '--subject', WEB_DIGEST, '--owner', 'a@example.com', '--reason', 'r', '--expires', expires, '--key', keyFile,
    ];
    const past = await runCli(args(at(Date.now() - DAY)), { env: s.env });
    assert.equal(past.code, 2);
    assert.match(past.stderr, /EXCEPTION_INVALID: exception expires .* is not in the future/);
    const far = await runCli(args(at(Date.now() + 120 * DAY)), { env: s.env });
    assert.equal(far.code, 2);
    assert.match(far.stderr, /more than 90 days away/);
    const strangerKey = join(s.root, 'stranger.key');
    writeFileSync(strangerKey, exportPrivateKeyPem(freshKey()));
    const stranger = await runCli(args(at(Date.now() + DAY), strangerKey), { env: s.env });
    assert.equal(stranger.code, 1);
    assert.match(stranger.stderr, /not added: KEY_UNKNOWN/);
    assert.equal(existsSync(exceptionsDir(s.home)) && readdirSync(exceptionsDir(s.home)).length > 0, false);
  });
});

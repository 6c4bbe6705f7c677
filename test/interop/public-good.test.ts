import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  importPublicKey,
  parseTrustedRoot,
  publicGoodTrustedRoot,
  SigstoreVerifier,
  type TrustedRootJson,
} from '../../src/evidence/index.ts';
import { runCli } from '../helpers/cli.ts';

// Real bundles from the public-good and staging Sigstore instances, gathered
// from the Sigstore projects' own test data (test/fixtures/sigstore/README.md
// names each source). Verified offline: no test here touches the network.

const FIXTURES = fileURLToPath(new URL('../fixtures/sigstore/', import.meta.url));

interface Case {
  name: string;
  bundle: string;
  artifact: string | null;
  trustedRoot: string;
  identity: string | null;
  issuer: string | null;
  expect: 'ok' | 'fail';
  kind: 'dsse' | 'message-signature';
  publicKey?: string;
  subjects?: { name: string; digest: Record<string, string> }[];
}

const cases = JSON.parse(readFileSync(join(FIXTURES, 'cases.json'), 'utf8')) as Case[];
const rootOf = (spec: string): TrustedRootJson =>
  spec === 'public-good' ? publicGoodTrustedRoot() : parseTrustedRoot(readFileSync(join(FIXTURES, spec), 'utf8'), spec);

function verifyCase(c: Case, overrides: { identity?: string | RegExp; issuer?: string; artifacts?: { name: string; digests: Record<string, string> }[] } = {}) {
  const keys = c.publicKey ? [importPublicKey(readFileSync(join(FIXTURES, c.publicKey)))] : [];
  const verifier = new SigstoreVerifier(rootOf(c.trustedRoot), keys);
  const identity = overrides.identity ?? c.identity;
  return verifier.verify(readFileSync(join(FIXTURES, c.bundle)), {
    ...(identity !== null ? { identity: { identity, issuer: overrides.issuer ?? c.issuer! } } : {}),
    ...(c.artifact ? { messageArtifact: readFileSync(join(FIXTURES, c.artifact)) } : {}),
    ...(overrides.artifacts ? { artifacts: overrides.artifacts } : {}),
  });
}

describe('real Sigstore bundles, offline', () => {
  for (const c of cases) {
    test(`${c.name}: ${c.expect}`, () => {
      const r = verifyCase(c);
      if (c.expect === 'ok') {
        assert.ok(r.ok, `${r.code}: ${r.message}`);
        if (c.identity) assert.deepEqual(r.signer, { kind: 'certificate', identity: c.identity, issuer: c.issuer });
        else assert.equal(r.signer.kind, 'key');
        if (c.kind === 'dsse') assert.deepEqual(r.statement?.subject.map((s) => s.name), c.subjects?.map((s) => s.name));
      } else {
        assert.equal(r.ok, false);
        assert.match(r.code, /^(SIGNATURE_INVALID|TRUST_INVALID|IDENTITY_MISMATCH|KEY_UNKNOWN)$/, r.message);
      }
    });
  }
});

describe('checks warrant adds to @sigstore/verify', () => {
  const npm = cases.find((c) => c.name === 'npm-provenance-v02')!;
  const sha512 = npm.subjects![0]!.digest.sha512!;

  test('a DSSE statement is matched to the artifact: the right digest passes', () => {
    const r = verifyCase(npm, { artifacts: [{ name: 'sigstore-3.1.0.tgz', digests: { sha512 } }] });
    assert.ok(r.ok, r.message);
  });

  test('an unrelated artifact is SUBJECT_MISMATCH (the library alone would accept it)', () => {
    const r = verifyCase(npm, { artifacts: [{ name: 'other.tgz', digests: { sha512: '0'.repeat(128) } }] });
    assert.equal(r.code, 'SUBJECT_MISMATCH');
  });

  test('identity by regular expression, searched as cosign does', () => {
    assert.ok(verifyCase(npm, { identity: /^https:\/\/github\.com\/sigstore\/sigstore-js\// }).ok);
    assert.equal(verifyCase(npm, { identity: /^https:\/\/github\.com\/evil\// }).code, 'IDENTITY_MISMATCH');
  });

  test('a certificate bundle without an identity policy is refused', () => {
    const verifier = new SigstoreVerifier(publicGoodTrustedRoot());
    const r = verifier.verify(readFileSync(join(FIXTURES, npm.bundle)));
    assert.equal(r.code, 'IDENTITY_MISMATCH');
    assert.match(r.message, /no identity policy/);
  });

  test('a message-signature bundle without its artifact is UNSUPPORTED, not a crash', () => {
    const c = cases.find((x) => x.name === 'hashedrekord-v03-staging')!;
    const r = new SigstoreVerifier(rootOf(c.trustedRoot)).verify(readFileSync(join(FIXTURES, c.bundle)), {
      identity: { identity: c.identity!, issuer: c.issuer! },
    });
    assert.equal(r.code, 'UNSUPPORTED');
  });
});

describe('warrant verify --trusted-root on real bundles', () => {
  const npm = cases.find((c) => c.name === 'npm-provenance-v02')!;
  const base = ['verify', '--bundle', join(FIXTURES, npm.bundle), '--trusted-root', 'public-good', '--certificate-oidc-issuer', npm.issuer!];

  test('exit 0 and the signer identity, offline', async () => {
    const r = await runCli([...base, '--certificate-identity', npm.identity!, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { signer: { identity: string; issuer: string } };
    assert.equal(out.signer.identity, npm.identity);
    assert.equal(out.signer.issuer, npm.issuer);
  });

  test('exit 1 on a wrong identity, exit 2 on a half-given policy', async () => {
    const wrong = await runCli([...base, '--certificate-identity-regexp', '^https://github\\.com/nobody/']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /IDENTITY_MISMATCH/);
    const half = await runCli(['verify', '--bundle', join(FIXTURES, npm.bundle), '--trusted-root', 'public-good', '--certificate-identity', 'x']);
    assert.equal(half.code, 2);
    assert.match(half.stderr, /needs --certificate-oidc-issuer/);
  });

  test('a message-signature bundle with its artifact', async () => {
    const c = cases.find((x) => x.name === 'hashedrekord-v03-staging')!;
    const args = ['verify', '--bundle', join(FIXTURES, c.bundle), '--trusted-root', join(FIXTURES, c.trustedRoot),
      '--certificate-identity', c.identity!, '--certificate-oidc-issuer', c.issuer!, '--artifact'];
    assert.equal((await runCli([...args, join(FIXTURES, c.artifact!)])).code, 0);
    const wrong = await runCli([...args, join(FIXTURES, 'fail-wrong-artifact', 'artifact')]);
    assert.equal(wrong.code, 1);
  });
});

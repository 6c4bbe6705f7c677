import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { bundleFromJSON } from '@sigstore/bundle';
import { PublicKeyDetails, TrustedRoot } from '@sigstore/protobuf-specs';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import { exportPublicKeyDer, exportPublicKeyPem, KEY_ALGORITHMS, type PrivateKey } from '../../src/evidence/index.ts';
import { parseCheckpoint, signCheckpoint } from '../../src/ledger/index.ts';
import { parseSignerKey } from '../../src/ledger/note.ts';
import { runCli } from '../helpers/cli.ts';
import { freshKey, signedBundle, tempDir } from '../helpers/evidence.ts';

// A bundle handed back by `warrant evidence add --out` carries warrant's log
// entry laid out as Rekor v2 writes it. @sigstore/verify, given a trusted root
// built from `warrant log trusted-root`, must check its checkpoint signature,
// its RFC 6962 inclusion proof and its DSSE entry body, and reject each of
// them when altered; `warrant log prove --bundle` must agree.

interface TlogEntryJson {
  logIndex: string;
  logId: { keyId: string };
  kindVersion: { kind: string; version: string };
  inclusionProof: { logIndex: string; rootHash: string; treeSize: string; hashes: string[]; checkpoint: { envelope: string } };
  canonicalizedBody: string;
}

interface LoggedBundle {
  mediaType: string;
  verificationMaterial: { publicKey?: { hint: string }; tlogEntries: TlogEntryJson[] };
  dsseEnvelope: { payload: string; payloadType: string; signatures: { sig: string; keyid: string }[] };
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** The signed text of a note (its signatures unchecked): everything up to the blank line. */
function noteText(note: string): string {
  const end = note.indexOf('\n\n');
  assert.ok(end > 0, 'a signed note has a blank line before its signatures');
  return note.slice(0, end + 1);
}

function flipBit(b64: string, bit = 0): string {
  const bytes = Buffer.from(b64, 'base64');
  bytes[bit >> 3]! ^= 1 << (bit & 7);
  return bytes.toString('base64');
}

for (const alg of KEY_ALGORITHMS) {
  describe(`warrant log entries verify with @sigstore/verify (${alg} signing key)`, () => {
    const dir = tempDir('warrant-ledger-sigstore-');
    const key: PrivateKey = freshKey(alg);
    const home = join(dir, 'home');
    const otherHome = join(dir, 'other-home');
    const cli = (args: string[], env: NodeJS.ProcessEnv = { WARRANT_HOME: home }) => runCli(args, { env, cwd: dir });
    let root: unknown;
    let origin = '';
    let bundleA: LoggedBundle;
    let bundleB: LoggedBundle;
    let foreignA: LoggedBundle;

    /** Adds three filler bundles, then A and B with --out, to the log in `env`'s home. */
    async function fill(env: NodeJS.ProcessEnv, tag: string): Promise<{ a: LoggedBundle; b: LoggedBundle }> {
      assert.equal((await cli(['trust', 'add', join(dir, 'k.pub')], env)).code, 0);
      const filler = [0, 1, 2].map((i) => join(dir, `filler-${i}.json`));
      const add = await cli(['evidence', 'add', ...filler], env);
      assert.equal(add.code, 0, add.stderr);
      for (const name of ['a', 'b']) {
        const r = await cli(['evidence', 'add', join(dir, `${name}.json`), '--out', join(dir, `${name}.${tag}.json`)], env);
        assert.equal(r.code, 0, r.stderr);
      }
      const read = (name: string) => JSON.parse(readFileSync(join(dir, `${name}.${tag}.json`), 'utf8')) as LoggedBundle;
      return { a: read('a'), b: read('b') };
    }

    before(async () => {
      writeFileSync(join(dir, 'k.pub'), exportPublicKeyPem(key));
      [0, 1, 2].forEach((i) => writeFileSync(join(dir, `filler-${i}.json`), JSON.stringify(signedBundle(key, String(i).repeat(64)))));
      writeFileSync(join(dir, 'a.json'), JSON.stringify(signedBundle(key, 'a'.repeat(64))));
      writeFileSync(join(dir, 'b.json'), JSON.stringify(signedBundle(key, 'b'.repeat(64))));
      ({ a: bundleA, b: bundleB } = await fill({ WARRANT_HOME: home }, 'logged'));
      const tr = await cli(['log', 'trusted-root']);
      assert.equal(tr.code, 0, tr.stderr);
      root = JSON.parse(tr.stdout);
      origin = (await cli(['log', 'vkey'])).stdout.trim().split('+')[0]!;
      // A second log under the same origin name, with its own key, holding the same entries in the same order:
      // its checkpoints have the same text as the first log's, signed by a different key.
      ({ a: foreignA } = await fill({ WARRANT_HOME: otherHome, WARRANT_LOG_ORIGIN: origin }, 'foreign'));
    });

    function sigstoreVerify(bundle: unknown): void {
      const keyDetails = alg === 'ed25519' ? PublicKeyDetails.PKIX_ED25519 : PublicKeyDetails.PKIX_ECDSA_P256_SHA_256;
      const trust = toTrustMaterial(TrustedRoot.fromJSON(root), { [key.keyId]: { rawBytes: exportPublicKeyDer(key), keyDetails } });
      new Verifier(trust, { tlogThreshold: 1, ctlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(bundleFromJSON(bundle)));
    }

    async function prove(bundle: unknown, name: string) {
      const path = join(dir, `prove-${name}.json`);
      writeFileSync(path, JSON.stringify(bundle));
      return cli(['log', 'prove', '--bundle', path]);
    }

    /** A with its log entry edited by `edit`. */
    function editedA(edit: (entry: TlogEntryJson) => void): LoggedBundle {
      const b = clone(bundleA);
      edit(b.verificationMaterial.tlogEntries[0]!);
      return b;
    }

    test('the bundles carry one Rekor v2 style entry from warrant\'s log, with a non-trivial proof', () => {
      for (const [b, index, size] of [[bundleA, '3', '4'], [bundleB, '4', '5']] as const) {
        assert.equal(b.verificationMaterial.tlogEntries.length, 1);
        const e = b.verificationMaterial.tlogEntries[0]!;
        assert.equal(e.logIndex, index);
        assert.deepEqual(e.kindVersion, { kind: 'dsse', version: '0.0.2' });
        assert.equal(e.inclusionProof.treeSize, size);
        assert.ok(e.inclusionProof.hashes.length >= 1);
        const cp = parseCheckpoint(noteText(e.inclusionProof.checkpoint.envelope));
        assert.equal(cp.origin, origin);
        assert.equal(cp.size.toString(), size);
        assert.equal(cp.rootHash.toString('base64'), e.inclusionProof.rootHash);
      }
      assert.equal(bundleA.verificationMaterial.tlogEntries[0]!.logId.keyId, (root as { tlogs: { logId: { keyId: string } }[] }).tlogs[0]!.logId.keyId);
    });

    test('@sigstore/verify accepts both logged bundles; warrant log prove --bundle exits 0', async () => {
      assert.doesNotThrow(() => sigstoreVerify(bundleA));
      assert.doesNotThrow(() => sigstoreVerify(bundleB));
      for (const [name, b] of [['a', bundleA], ['b', bundleB]] as const) {
        const r = await prove(b, `good-${name}`);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`^OK: entry ${b.verificationMaterial.tlogEntries[0]!.logIndex} is included`));
      }
    });

    test('the tlog threshold is real: without warrant\'s log in the trusted root the entry does not count', () => {
      const saved = root;
      root = { ...(root as object), tlogs: [] };
      try {
        assert.throws(() => sigstoreVerify(bundleA), /invalid checkpoint signature/);
      } finally {
        root = saved;
      }
    });

    const tampered: [string, () => LoggedBundle, RegExp, RegExp][] = [
      [
        'a flipped bit in an inclusion proof hash',
        () => editedA((e) => (e.inclusionProof.hashes[0] = flipBit(e.inclusionProof.hashes[0]!, 77))),
        /TLOG_INCLUSION_PROOF_ERROR.*root hash|calculated root hash/,
        /FAIL ROOT_MISMATCH/,
      ],
      [
        'a flipped bit in the last inclusion proof hash',
        () => editedA((e) => (e.inclusionProof.hashes[e.inclusionProof.hashes.length - 1] = flipBit(e.inclusionProof.hashes.at(-1)!, 255))),
        /calculated root hash/,
        /FAIL ROOT_MISMATCH/,
      ],
      [
        'a checkpoint with the same text signed by another log key',
        () => editedA((e) => (e.inclusionProof.checkpoint = clone(foreignA.verificationMaterial.tlogEntries[0]!.inclusionProof.checkpoint))),
        /invalid checkpoint signature/,
        /FAIL CHECKPOINT_INVALID/,
      ],
      [
        'a tampered canonicalizedBody (payload hash changed)',
        () =>
          editedA((e) => {
            const body = JSON.parse(Buffer.from(e.canonicalizedBody, 'base64').toString()) as { spec: { dsseV002: { payloadHash: { digest: string } } } };
            body.spec.dsseV002.payloadHash.digest = flipBit(body.spec.dsseV002.payloadHash.digest);
            e.canonicalizedBody = Buffer.from(JSON.stringify(body)).toString('base64');
          }),
        /TLOG_INCLUSION_PROOF_ERROR|calculated root hash/,
        /FAIL ENTRY_MISMATCH/,
      ],
      [
        'the log entry of bundle A grafted into bundle B',
        () => {
          const b = clone(bundleB);
          b.verificationMaterial.tlogEntries = clone(bundleA.verificationMaterial.tlogEntries);
          return b;
        },
        /TLOG_BODY_ERROR/,
        /FAIL ENTRY_MISMATCH/,
      ],
      [
        "an inclusion proof whose checkpoint's tree size was edited",
        () =>
          editedA((e) => {
            const cp = e.inclusionProof.checkpoint;
            cp.envelope = cp.envelope.replace(/^([^\n]*\n)4\n/, '$15\n');
            assert.match(cp.envelope, /^[^\n]*\n5\n/);
          }),
        /invalid checkpoint signature/,
        /FAIL CHECKPOINT_INVALID/,
      ],
      [
        "an inclusion proof whose checkpoint's tree size was changed and re-signed by the log key",
        () =>
          editedA((e) => {
            // Only the log key holder can do this; it shows the tree size, not just the signature, is checked.
            const signer = parseSignerKey(readFileSync(join(home, 'log', 'log.skey'), 'utf8').trim());
            const cp = parseCheckpoint(noteText(e.inclusionProof.checkpoint.envelope));
            e.inclusionProof.checkpoint.envelope = signCheckpoint({ ...cp, size: cp.size + 1n }, signer);
            e.inclusionProof.treeSize = (cp.size + 1n).toString();
          }),
        /TLOG_INCLUSION_PROOF_ERROR/,
        /FAIL (PROOF_INVALID|ROOT_MISMATCH)/,
      ],
    ];

    for (const [name, make, sigstoreError, warrantError] of tampered) {
      test(`rejected by @sigstore/verify and warrant log prove: ${name}`, async () => {
        const bad = make();
        assert.notDeepEqual(bad, bundleA);
        assert.throws(
          () => sigstoreVerify(bad),
          (err: Error) => {
            assert.match(`${(err as { code?: string }).code}: ${err.message}`, sigstoreError);
            return true;
          },
        );
        const r = await prove(bad, name.replace(/\W+/g, '-'));
        assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
        assert.match(r.stderr, warrantError);
      });
    }

    test('warrant log prove refuses proof fields that disagree with the signed checkpoint (Rekor does too)', async () => {
      for (const [name, edit] of [
        ['treeSize', (e: TlogEntryJson) => (e.inclusionProof.treeSize = String(BigInt(e.inclusionProof.treeSize) + 1n))],
        ['rootHash', (e: TlogEntryJson) => (e.inclusionProof.rootHash = flipBit(e.inclusionProof.rootHash, 3))],
      ] as const) {
        const r = await prove(editedA(edit), `mismatch-${name}`);
        assert.equal(r.code, 1, `${name}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, /FAIL ENTRY_MISMATCH: the inclusion proof's treeSize, rootHash or logIndex disagree/);
      }
    });
  });
}

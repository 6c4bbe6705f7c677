import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { PublicKeyDetails, TrustedRoot } from '@sigstore/protobuf-specs';
import { DSSEBundleBuilder, type Signer } from '@sigstore/sign';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import {
  BundleVerifier,
  exportPublicKeyDer,
  exportPublicKeyPem,
  IN_TOTO_PAYLOAD_TYPE,
  KEY_ALGORITHMS,
  signBytes,
  TrustedKeys,
  type Bundle,
  type PrivateKey,
} from '../../src/evidence/index.ts';
import { DEMO_PREDICATE, freshKey, signedBundle, withPayload } from '../helpers/evidence.ts';

// Interop with the reference TypeScript implementation of Sigstore, both ways:
// @sigstore/verify accepts what warrant writes, and warrant accepts what
// @sigstore/sign writes.

const EMPTY_ROOT = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
};

function sigstoreVerify(bundle: unknown, key: PrivateKey): void {
  const keyDetails = key.algorithm === 'ed25519' ? PublicKeyDetails.PKIX_ED25519 : PublicKeyDetails.PKIX_ECDSA_P256_SHA_256;
  const trust = toTrustMaterial(TrustedRoot.fromJSON(EMPTY_ROOT), {
    [key.keyId]: { rawBytes: exportPublicKeyDer(key), keyDetails },
  });
  // A key-only bundle carries no log entry, SCT or timestamp, so those thresholds are 0.
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  verifier.verify(toSignedEntity(bundleFromJSON(bundle)));
}

async function sigstoreSign(key: PrivateKey, statement: unknown): Promise<Bundle> {
  const signer: Signer = {
    async sign(pae) {
      return {
        signature: signBytes(key, pae),
        key: { $case: 'publicKey', publicKey: exportPublicKeyPem(key), hint: key.keyId },
      };
    },
  };
  const bundle = await new DSSEBundleBuilder({ signer, witnesses: [] }).create({
    data: Buffer.from(JSON.stringify(statement)),
    type: IN_TOTO_PAYLOAD_TYPE,
  });
  return bundleToJSON(bundle) as unknown as Bundle;
}

const statement = (sha256: string) => ({
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: 'pkg.tgz', digest: { sha256 } }],
  predicateType: DEMO_PREDICATE,
  predicate: { from: 'sigstore-js' },
});

for (const alg of KEY_ALGORITHMS) {
  describe(`sigstore-js interop (${alg})`, () => {
    const key = freshKey(alg);

    test('@sigstore/verify accepts a bundle written by warrant', () => {
      const bundle = JSON.parse(JSON.stringify(signedBundle(key))) as unknown;
      assert.doesNotThrow(() => sigstoreVerify(bundle, key));
    });

    test('@sigstore/verify rejects warrant bundles that were tampered with', () => {
      const bundle = signedBundle(key);
      assert.throws(() => sigstoreVerify(withPayload(bundle, (s) => ({ ...s, predicateType: 'https://x/y' })), key), /SIGNATURE_ERROR|signature/i);
      assert.throws(() => sigstoreVerify(signedBundle(freshKey(alg)), key), /PUBLIC_KEY_ERROR|key/i);
    });

    test('warrant accepts a DSSE bundle built by @sigstore/sign with a local key', async () => {
      const bundle = await sigstoreSign(key, statement('e'.repeat(64)));
      assert.equal(bundle.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
      const r = new BundleVerifier(new TrustedKeys([key])).verify(JSON.stringify(bundle), {
        artifacts: [{ name: 'pkg.tgz', digests: { sha256: 'e'.repeat(64) } }],
        predicateType: DEMO_PREDICATE,
      });
      assert.ok(r.ok, r.message);
      assert.equal(r.signer.kind === 'key' && r.signer.keyId, key.keyId);
      assert.deepEqual(r.statement?.predicate, { from: 'sigstore-js' });
    });

    test('warrant rejects a tampered @sigstore/sign bundle and one by an untrusted key', async () => {
      const bundle = await sigstoreSign(key, statement('e'.repeat(64)));
      const verifier = new BundleVerifier(new TrustedKeys([key]));
      const tampered = verifier.verify(withPayload(bundle, (s) => ({ ...s, subject: [{ name: 'x', digest: { sha256: 'f'.repeat(64) } }] })));
      assert.equal(tampered.code, 'SIGNATURE_INVALID');
      const stranger = verifier.verify(await sigstoreSign(freshKey(alg), statement('e'.repeat(64))));
      assert.equal(stranger.code, 'KEY_UNKNOWN');
    });

    test('a bundle round-trips through @sigstore/bundle unchanged', () => {
      const bundle = signedBundle(key);
      assert.deepEqual(bundleToJSON(bundleFromJSON(bundle)), JSON.parse(JSON.stringify(bundle)));
    });
  });
}

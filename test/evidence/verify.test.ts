import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildBundle,
  BundleVerifier,
  IN_TOTO_PAYLOAD_TYPE,
  KEY_ALGORITHMS,
  preAuthEncoding,
  signEnvelope,
  TrustedKeys,
  type Bundle,
  type PrivateKey,
  type VerificationResult,
} from '../../src/evidence/index.ts';
import { DEMO_PREDICATE, freshKey, signedBundle, withPayload } from '../helpers/evidence.ts';
import { sign } from 'node:crypto';

const failsWith = (result: VerificationResult, code: string, message?: RegExp) => {
  assert.equal(result.ok, false, `expected ${code}, got ok`);
  assert.equal(result.code, code, result.message);
  if (message) assert.match(result.message, message);
};

/** Signs an arbitrary payload text as an in-toto DSSE bundle, so invalid statements carry valid signatures. */
function signText(key: PrivateKey, payload: string, payloadType = IN_TOTO_PAYLOAD_TYPE): Bundle {
  const env = signEnvelope(payloadType, Buffer.from(payload), [key]);
  return buildBundle(env, { signing: { kind: 'publicKey', hint: key.keyId } });
}

const artifact = (sha256: string) => [{ name: 'app.tar', digests: { sha256 } }];

for (const alg of KEY_ALGORITHMS) {
  describe(`BundleVerifier (${alg})`, () => {
    const key = freshKey(alg);
    const verifier = new BundleVerifier(new TrustedKeys([key]));
    const bundle = signedBundle(key, 'c'.repeat(64));

    test('accepts a bundle signed by a trusted key, from text, bytes or a parsed value', () => {
      for (const input of [JSON.stringify(bundle), Buffer.from(JSON.stringify(bundle)), bundle]) {
        const r = verifier.verify(input, { artifacts: artifact('c'.repeat(64)), predicateType: DEMO_PREDICATE });
        assert.ok(r.ok, r.message);
        assert.deepEqual(r.signer, { kind: 'key', keyId: key.keyId, algorithm: alg });
        assert.equal(r.statement?.subject[0]?.digest.sha256, 'c'.repeat(64));
        assert.equal(r.envelopeDigest?.algorithm, 'sha256');
      }
    });

    test('changed payload: SIGNATURE_INVALID', () => {
      const tampered = withPayload(bundle, (s) => ({ ...s, predicate: { n: 2 } }));
      failsWith(verifier.verify(tampered), 'SIGNATURE_INVALID');
    });

    test('swapped payloadType: PAYLOAD_TYPE', () => {
      failsWith(verifier.verify({ ...bundle, dsseEnvelope: { ...bundle.dsseEnvelope!, payloadType: 'text/plain' } }), 'PAYLOAD_TYPE');
    });

    test('payloadType swapped to in-toto after signing as another type: SIGNATURE_INVALID', () => {
      const other = signText(key, Buffer.from(bundle.dsseEnvelope!.payload, 'base64').toString(), 'application/json');
      failsWith(verifier.verify({ ...other, dsseEnvelope: { ...other.dsseEnvelope!, payloadType: IN_TOTO_PAYLOAD_TYPE } }), 'SIGNATURE_INVALID');
    });

    test('signature by another key: KEY_UNKNOWN', () => {
      failsWith(verifier.verify(signedBundle(freshKey(alg))), 'KEY_UNKNOWN');
    });

    test('signature by another key claiming the trusted key id: SIGNATURE_INVALID', () => {
      const forged = signedBundle(freshKey(alg));
      const env = forged.dsseEnvelope!;
      const claimed = { ...forged, verificationMaterial: { publicKey: { hint: key.keyId } }, dsseEnvelope: { ...env, signatures: [{ keyid: key.keyId, sig: env.signatures[0]!.sig }] } };
      failsWith(verifier.verify(claimed), 'SIGNATURE_INVALID');
    });

    test('invalid base64 in the signature or payload: MALFORMED', () => {
      const env = bundle.dsseEnvelope!;
      failsWith(verifier.verify({ ...bundle, dsseEnvelope: { ...env, signatures: [{ ...env.signatures[0]!, sig: env.signatures[0]!.sig.slice(0, -4) + '!!!!' }] } }), 'MALFORMED', /sig is not valid base64/);
      failsWith(verifier.verify({ ...bundle, dsseEnvelope: { ...env, payload: '*' + env.payload.slice(1) } }), 'MALFORMED', /payload is not valid base64/);
    });

    test('subject digest mismatch: SUBJECT_MISMATCH', () => {
      failsWith(verifier.verify(bundle, { artifacts: artifact('d'.repeat(64)) }), 'SUBJECT_MISMATCH', /app\.tar/);
    });

    test('predicate type mismatch: PREDICATE_TYPE_MISMATCH', () => {
      failsWith(verifier.verify(bundle, { predicateType: 'https://slsa.dev/provenance/v1' }), 'PREDICATE_TYPE_MISMATCH');
    });

    test('wrong _type, signed: STATEMENT_INVALID', () => {
      const s = JSON.parse(Buffer.from(bundle.dsseEnvelope!.payload, 'base64').toString()) as Record<string, unknown>;
      failsWith(verifier.verify(signText(key, JSON.stringify({ ...s, _type: 'https://example.com/other' }))), 'STATEMENT_INVALID', /_type/);
    });

    test('empty subject, signed: STATEMENT_INVALID', () => {
      const s = JSON.parse(Buffer.from(bundle.dsseEnvelope!.payload, 'base64').toString()) as Record<string, unknown>;
      failsWith(verifier.verify(signText(key, JSON.stringify({ ...s, subject: [] }))), 'STATEMENT_INVALID', /subject/);
    });

    test('payload that is not JSON, signed: MALFORMED', () => {
      failsWith(verifier.verify(signText(key, 'not json')), 'MALFORMED', /statement is not valid JSON/);
    });
  });
}

describe('limits', () => {
  const key = freshKey();
  const verifier = new BundleVerifier(new TrustedKeys([key]));

  test('a 100 MB bundle: LIMIT_EXCEEDED before parsing', { timeout: 10_000 }, () => {
    const huge = Buffer.alloc(100 * 1024 * 1024, 0x20);
    failsWith(verifier.verify(huge), 'LIMIT_EXCEEDED', /over the limit/);
  });

  test('10,000 signatures: LIMIT_EXCEEDED before any signature check', { timeout: 10_000 }, () => {
    const b = signedBundle(key);
    const sig = b.dsseEnvelope!.signatures[0]!;
    const many = { ...b, dsseEnvelope: { ...b.dsseEnvelope!, signatures: Array.from({ length: 10_000 }, () => sig) } };
    failsWith(verifier.verify(JSON.stringify(many)), 'LIMIT_EXCEEDED', /10000 signatures/);
  });

  test('a deeply nested predicate, validly signed: LIMIT_EXCEEDED', { timeout: 10_000 }, () => {
    const depth = 200_000;
    const predicate = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    const payload = `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"x","digest":{"sha256":"${'a'.repeat(64)}"}}],"predicateType":"${DEMO_PREDICATE}","predicate":${predicate}}`;
    failsWith(verifier.verify(signText(key, payload)), 'LIMIT_EXCEEDED', /nests deeper/);
  });

  test('a deeply nested bundle document: LIMIT_EXCEEDED', () => {
    failsWith(verifier.verify('['.repeat(100_000)), 'LIMIT_EXCEEDED');
  });

  test('an oversized signature: LIMIT_EXCEEDED', () => {
    const b = signedBundle(key);
    const big = { ...b, dsseEnvelope: { ...b.dsseEnvelope!, signatures: [{ keyid: key.keyId, sig: Buffer.alloc(4096).toString('base64') }] } };
    failsWith(verifier.verify(big), 'LIMIT_EXCEEDED');
  });
});

describe('DSSE envelopes with several signatures', () => {
  const [a, b, c] = [freshKey(), freshKey('ecdsa-p256'), freshKey()];
  const payload = Buffer.from(JSON.stringify(JSON.parse(Buffer.from(signedBundle(a).dsseEnvelope!.payload, 'base64').toString())));
  const env = signEnvelope(IN_TOTO_PAYLOAD_TYPE, payload, [a, b]);
  const bundle = buildBundle(env, { signing: { kind: 'publicKey', hint: '' } });

  test('each signature carries its key id and verifies over PAE', () => {
    assert.deepEqual(env.signatures.map((s) => s.keyid), [a.keyId, b.keyId]);
    const pae = preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, payload);
    assert.ok(pae.length > payload.length);
  });

  test('a threshold of 2 is met by two trusted signers', () => {
    const r = new BundleVerifier(new TrustedKeys([a, b])).verify(bundle, { threshold: 2 });
    assert.ok(r.ok, r.message);
  });

  test('a threshold of 2 is not met when only one signer is trusted', () => {
    failsWith(new BundleVerifier(new TrustedKeys([a, c])).verify(bundle, { threshold: 2 }), 'SIGNATURE_INVALID', /1 of the required 2/);
  });

  test('a signature with no key id is tried against every trusted key', () => {
    const anonymous = { ...bundle, dsseEnvelope: { ...env, signatures: [{ sig: env.signatures[1]!.sig }] } };
    const r = new BundleVerifier(new TrustedKeys([a, b, c])).verify(anonymous);
    assert.ok(r.ok && r.signer.kind === 'key' && r.signer.keyId === b.keyId);
  });

  test('a duplicated signature counts once toward the threshold', () => {
    const dup = { ...bundle, dsseEnvelope: { ...env, signatures: [env.signatures[0]!, env.signatures[0]!] } };
    failsWith(new BundleVerifier(new TrustedKeys([a, b])).verify(dup, { threshold: 2 }), 'SIGNATURE_INVALID');
  });

  test('ECDSA signatures in IEEE P1363 form are not accepted (DER is the interoperable encoding)', () => {
    const p1363 = sign('sha256', preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, payload), { key: b.privateKey, dsaEncoding: 'ieee-p1363' });
    const odd = { ...bundle, dsseEnvelope: { ...env, signatures: [{ keyid: b.keyId, sig: p1363.toString('base64') }] } };
    failsWith(new BundleVerifier(new TrustedKeys([b])).verify(odd), 'SIGNATURE_INVALID');
  });
});

describe('bundle structure', () => {
  const key = freshKey();
  const verifier = new BundleVerifier(new TrustedKeys([key]));
  const bundle = signedBundle(key);

  test('accepts the v0.1/v0.2/v0.3 media type spellings', () => {
    for (const mt of ['application/vnd.dev.sigstore.bundle+json;version=0.3', 'application/vnd.dev.sigstore.bundle+json;version=0.2']) {
      assert.ok(verifier.verify({ ...bundle, mediaType: mt }).ok);
    }
  });

  test('rejects an unknown media type, a missing envelope, both contents', () => {
    failsWith(verifier.verify({ ...bundle, mediaType: 'application/json' }), 'MALFORMED', /mediaType/);
    failsWith(verifier.verify({ mediaType: bundle.mediaType, verificationMaterial: bundle.verificationMaterial }), 'MALFORMED', /exactly one/);
    failsWith(verifier.verify({ ...bundle, messageSignature: {} }), 'MALFORMED', /exactly one/);
  });

  test('a certificate-signed bundle needs the Sigstore verifier', () => {
    failsWith(verifier.verify({ ...bundle, verificationMaterial: { certificate: { rawBytes: 'AAAA' } } }), 'UNSUPPORTED', /certificate/);
  });

  test('the envelope digest ignores base64 spelling', () => {
    const env = bundle.dsseEnvelope!;
    const urlSafe = { ...bundle, dsseEnvelope: { ...env, payload: env.payload.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') } };
    const r1 = verifier.verify(bundle);
    const r2 = verifier.verify(urlSafe);
    assert.ok(r1.ok && r2.ok);
    assert.deepEqual(r1.envelopeDigest, r2.envelopeDigest);
  });

  test('unknown top-level bundle fields do not break verification', () => {
    assert.ok(verifier.verify({ ...bundle, futureField: { x: 1 } }).ok);
  });
});

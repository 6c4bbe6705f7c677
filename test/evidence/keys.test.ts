import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  exportPrivateKeyPem,
  exportPublicKeyPem,
  generateKey,
  importPrivateKey,
  importPublicKey,
  InputError,
  KEY_ALGORITHMS,
} from '../../src/evidence/index.ts';
import { tempDir } from '../helpers/evidence.ts';

const code = (c: string) => (e: unknown) => e instanceof InputError && e.code === c;

for (const alg of KEY_ALGORITHMS) {
  describe(`${alg} keys`, () => {
    test('export and import round-trip to the same key id', () => {
      const key = generateKey(alg);
      const priv = importPrivateKey(exportPrivateKeyPem(key));
      const pub = importPublicKey(exportPublicKeyPem(key));
      assert.equal(priv.keyId, key.keyId);
      assert.equal(pub.keyId, key.keyId);
      assert.equal(pub.algorithm, alg);
      assert.match(exportPrivateKeyPem(key), /^-----BEGIN PRIVATE KEY-----/);
      assert.match(exportPublicKeyPem(key), /^-----BEGIN PUBLIC KEY-----/);
    });

    test('key id is the hex sha256 of the SPKI DER, as openssl computes it', () => {
      const key = generateKey(alg);
      const pem = join(tempDir(), 'k.pub');
      writeFileSync(pem, exportPublicKeyPem(key));
      const der = execFileSync('openssl', ['pkey', '-pubin', '-in', pem, '-outform', 'DER']);
      const hex = execFileSync('sha256sum', { input: der }).toString().split(' ')[0];
      assert.equal(key.keyId, hex);
    });

    test('passphrase-encrypted private keys import with the passphrase only', () => {
      const key = generateKey(alg);
      const pem = exportPrivateKeyPem(key, 'correct horse');
      assert.match(pem, /ENCRYPTED PRIVATE KEY/);
      assert.equal(importPrivateKey(pem, 'correct horse').keyId, key.keyId);
      assert.throws(() => importPrivateKey(pem), code('KEY_PASSPHRASE_REQUIRED'));
      assert.throws(() => importPrivateKey(pem, 'wrong'), code('KEY_PASSPHRASE_WRONG'));
    });
  });
}

describe('key import errors', () => {
  test('an RSA key is refused by name', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    assert.throws(() => importPublicKey(publicKey.export({ type: 'spki', format: 'pem' })), code('KEY_ALGORITHM'));
    assert.throws(() => importPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' })), code('KEY_ALGORITHM'));
  });

  test('a P-384 key is refused', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    assert.throws(() => importPublicKey(publicKey.export({ type: 'spki', format: 'pem' })), /secp384r1 key/);
  });

  test('garbage is KEY_INVALID', () => {
    assert.throws(() => importPublicKey('not a key'), code('KEY_INVALID'));
    assert.throws(() => importPrivateKey('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'), code('KEY_INVALID'));
  });

  test('a private key given where a public key is expected still yields the public half', () => {
    const key = generateKey();
    assert.equal(importPublicKey(exportPrivateKeyPem(key)).keyId, key.keyId);
  });
});

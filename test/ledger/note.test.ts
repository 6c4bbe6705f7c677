import assert from 'node:assert/strict';
import { createHash, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  ed25519NoteSigner,
  ed25519NoteVerifier,
  formatSignerKey,
  formatVerifierKey,
  generateNoteKey,
  isNoteText,
  NOTE_MAX_BYTES,
  NOTE_MAX_SIGNATURES,
  NoteError,
  noteKeyId,
  openNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  type NoteErrorCode,
  type NoteSignatureRef,
  type NoteVerifier,
} from '../../src/ledger/note.ts';

// Vectors transcribed from golang/mod sumdb/note, C2SP signed-note and
// transparency-dev/formats; see test/fixtures/tlog/README.md for sources.
interface Vector {
  id: string;
  kind: string;
  [field: string]: unknown;
}
interface KeyVector {
  vkey: string;
  skey: string | null;
  name?: string;
  keyIdHex?: string;
  ed25519PublicKeyHex?: string;
  ed25519SeedHex?: string;
}
interface OpenCase {
  trustedVkeys: string[];
  wantErr: boolean;
  wantErrText?: string;
  wantText?: string;
  wantVerifiedSigs?: string[];
  wantUnverifiedSigs?: string[];
}
interface OpenErrorCase {
  desc: string;
  signedNote?: string;
  signedNote_repeat?: { prefix: string; line: string; count: number };
  wantErr: boolean;
  wantErrText?: string;
}

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/tlog/signed-notes.json', import.meta.url), 'utf8'),
) as { vectors: Vector[] };
const vector = (id: string): Vector => {
  const v = fixture.vectors.find((x) => x.id === id);
  assert.ok(v, `vector ${id}`);
  return v;
};

const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const QUOTE = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG_LINE =
  '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';

const label = (r: NoteSignatureRef) => `${r.name}+${r.keyId.toString(16).padStart(8, '0')}`;

function throwsNote(fn: () => unknown, code: NoteErrorCode, message?: RegExp | string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof NoteError, `expected NoteError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (typeof message === 'string') assert.ok(err.message.includes(message), err.message);
    else if (message) assert.match(err.message, message);
    return true;
  });
}

const onlyNoteErrors = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof NoteError)) throw err;
  }
};

describe('signed-note keys', () => {
  const keyVectors = fixture.vectors.filter((v) => v.kind === 'keys').flatMap((v) => v.keys as KeyVector[]);

  test('every vector key parses, re-encodes byte for byte and has the spec key id', () => {
    assert.equal(keyVectors.length, 6);
    for (const k of keyVectors) {
      const v = parseVerifierKey(k.vkey);
      const [name, idHex] = k.vkey.split('+') as [string, string];
      assert.equal(v.name, name);
      assert.equal(v.keyId, parseInt(idHex, 16));
      const pub = v.publicKey.export({ format: 'jwk' }).x!;
      const pubRaw = Buffer.from(pub, 'base64url');
      assert.equal(noteKeyId(name, 0x01, pubRaw), v.keyId);
      // keyId = SHA-256(name || 0x0A || 0x01 || pub)[:4], computed independently.
      const digest = createHash('sha256').update(Buffer.concat([Buffer.from(`${name}\n\x01`), pubRaw])).digest();
      assert.equal(digest.readUInt32BE(0), v.keyId);
      assert.equal(formatVerifierKey(name, v.publicKey), k.vkey);
      if (k.name !== undefined) assert.equal(k.name, name);
      if (k.keyIdHex !== undefined) assert.equal(k.keyIdHex, idHex);
      if (k.ed25519PublicKeyHex !== undefined) assert.equal(pubRaw.toString('hex'), k.ed25519PublicKeyHex);

      if (k.skey === null) continue;
      const s = parseSignerKey(k.skey);
      assert.equal(s.name, name);
      assert.equal(s.keyId, v.keyId);
      assert.equal(formatSignerKey(name, s.privateKey), k.skey);
      assert.equal(formatVerifierKey(name, s.publicKey), k.vkey);
      if (k.ed25519SeedHex !== undefined) {
        const seed = Buffer.from(s.privateKey.export({ format: 'jwk' }).d!, 'base64url');
        assert.equal(seed.toString('hex'), k.ed25519SeedHex);
      }
      // The parsed pair works together.
      const note = signNote('hello\n', [s]);
      assert.deepEqual(openNote(note, [v]).verified, [{ name, keyId: v.keyId }]);
    }
  });

  test('vkey-parse vectors: the valid key parses, the invalid ones are KEY_INVALID', () => {
    const v = vector('go-note-bad-vkeys');
    for (const vkey of v.valid as string[]) parseVerifierKey(vkey);
    for (const vkey of v.invalid as string[]) throwsNote(() => parseVerifierKey(vkey), 'KEY_INVALID');
  });

  test('every proper substring and every one-byte increment of a vkey is rejected', () => {
    for (let i = 0; i < PETER_VKEY.length; i++) {
      for (let j = i; j <= PETER_VKEY.length; j++) {
        if (i === 0 && j === PETER_VKEY.length) continue;
        throwsNote(() => parseVerifierKey(PETER_VKEY.slice(i, j)), 'KEY_INVALID');
      }
      const bumped = Buffer.from(PETER_VKEY);
      bumped[i] = bumped[i]! + 1;
      throwsNote(() => parseVerifierKey(bumped.toString('latin1')), 'KEY_INVALID');
    }
  });

  test('every proper prefix and one-byte increment of an skey is rejected, without echoing it', () => {
    for (let i = 0; i < PETER_SKEY.length; i++) {
      const bumped = Buffer.from(PETER_SKEY);
      bumped[i] = bumped[i]! + 1;
      for (const bad of [PETER_SKEY.slice(0, i), bumped.toString('latin1')]) {
        assert.throws(
          () => parseSignerKey(bad),
          (err: unknown) => err instanceof NoteError && err.code === 'KEY_INVALID' && !err.message.includes('AYEKFAL'),
        );
      }
    }
  });

  test('key encodings are strict: lowercase hex, standard padded canonical base64, Ed25519 only', () => {
    const [name, id, b64] = ['PeterNeumann', 'c74f20a3', 'ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'];
    const bad = [
      `${name}+${id.toUpperCase()}+${b64}`,
      `${name}+0${id}+${b64}`,
      `${name}+${id.slice(1)}+${b64}`,
      `${name}+${id}+${b64.replace('/', '_')}`, // URL-safe alphabet
      `${name}+${id}+${b64}=`,
      `${name}+${id}+ ${b64}`,
      `${name}+${id}+${b64}\n`,
      `${name}+${id}`,
      `+${id}+${b64}`,
      `Peter Neumann+${id}+${b64}`,
      `${name}+${id}+AQ==`,
      '',
    ];
    for (const vkey of bad) throwsNote(() => parseVerifierKey(vkey), 'KEY_INVALID');
    // The skey must carry its PRIVATE+KEY+ prefix, and a vkey is not an skey.
    throwsNote(() => parseSignerKey(PETER_SKEY.slice('PRIVATE+KEY+'.length)), 'KEY_INVALID');
    throwsNote(() => parseSignerKey(`PRIVATE+KEY+${PETER_VKEY}`), 'KEY_INVALID');
    throwsNote(() => parseVerifierKey(PETER_SKEY), 'KEY_INVALID');
    // Wrong key kinds.
    const { privateKey, publicKey } = generateNoteKey('k');
    throwsNote(() => ed25519NoteVerifier('k', privateKey), 'KEY_INVALID');
    throwsNote(() => ed25519NoteSigner('k', publicKey), 'KEY_INVALID');
  });

  test('key names: non-empty, no Unicode spaces, no "+", no control characters', () => {
    const { publicKey } = generateNoteKey('ok');
    const spaces = ['a b', 'a\tb', 'a\u00a0b', 'a\u2003b', 'a\u3000b', 'a\u2028b', 'a\u0085b'];
    for (const name of ['', ...spaces, 'a+b', 'a\x01b', 'a\ud800']) {
      throwsNote(() => formatVerifierKey(name, publicKey), 'KEY_INVALID');
      throwsNote(() => generateNoteKey(name), 'KEY_INVALID');
      throwsNote(() => noteKeyId(name, 1, Buffer.alloc(32)), 'KEY_INVALID');
    }
    // Non-ASCII, slashes and the like are fine; the spec recommends schema-less URLs.
    for (const name of ['example.com/log42', 'ñandú', 'a\u200bb', 'log—1']) {
      const k = generateNoteKey(name);
      assert.equal(parseVerifierKey(k.vkey).name, name);
      assert.equal(parseSignerKey(k.skey).name, name);
    }
  });

  test('generateNoteKey yields a matching skey/vkey pair', () => {
    const k = generateNoteKey('example.com/warrant');
    assert.match(k.vkey, /^example\.com\/warrant\+[0-9a-f]{8}\+A[A-Za-z0-9+/]{43}$/);
    assert.ok(k.skey.startsWith('PRIVATE+KEY+example.com/warrant+'));
    const s = parseSignerKey(k.skey);
    const v = parseVerifierKey(k.vkey);
    assert.equal(s.keyId, v.keyId);
    assert.equal(createPublicKey(k.privateKey).equals(v.publicKey), true);
    assert.equal(openNote(signNote('x\n', [s]), [v]).text, 'x\n');
  });
});

describe('signNote', () => {
  test('reproduces the Go vector byte for byte (Ed25519 is deterministic)', () => {
    const v = vector('go-note-sign');
    assert.equal(signNote(v.text as string, [parseSignerKey(v.signerSkey as string)]), v.wantSignedNote);
  });

  test('refuses text openNote could not return', () => {
    const s = parseSignerKey(PETER_SKEY);
    for (const text of ['', 'no newline', 'tab\there\n', 'cr\r\n', 'nul\0\n', 'lone \ud800 surrogate\n']) {
      throwsNote(() => signNote(text, [s]), 'NOTE_MALFORMED');
      assert.equal(isNoteText(text), false);
    }
    throwsNote(() => signNote('x\n', []), 'NOTE_MALFORMED');
    throwsNote(() => signNote('x\n', Array(NOTE_MAX_SIGNATURES + 1).fill(s)), 'NOTE_MALFORMED');
    throwsNote(() => signNote('x'.repeat(NOTE_MAX_BYTES) + '\n', [s]), 'NOTE_MALFORMED');
  });

  test('refuses signers with bad names, ids or signatures', () => {
    const s = parseSignerKey(PETER_SKEY);
    throwsNote(() => signNote('x\n', [{ ...s, name: 'bad name' }]), 'KEY_INVALID');
    throwsNote(() => signNote('x\n', [{ ...s, keyId: -1 }]), 'KEY_INVALID');
    throwsNote(() => signNote('x\n', [{ ...s, keyId: 2 ** 32 }]), 'KEY_INVALID');
    throwsNote(() => signNote('x\n', [{ ...s, sign: () => Buffer.alloc(0) }]), 'KEY_INVALID');
  });

  test('text with blank lines, a lone newline or trailing blank lines round-trips', () => {
    const s = parseSignerKey(PETER_SKEY);
    const v = parseVerifierKey(PETER_VKEY);
    const texts = [
      'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n',
      '\n',
      '\n\n\n',
      'a\n\n',
      '\ufeffstarts with a BOM\n',
      '— looks like a signature line\n',
      'DEL \x7f and C1 \u0085 are not ASCII controls\n',
    ];
    for (const text of texts) {
      const note = signNote(text, [s]);
      assert.equal(openNote(note, [v]).text, text);
      assert.equal(openNote(Buffer.from(note), [v]).text, text);
    }
  });
});

describe('openNote', () => {
  test('open vectors (Go two-signature note, C2SP example)', () => {
    let cases = 0;
    for (const v of fixture.vectors.filter((x) => x.kind === 'open')) {
      for (const c of v.cases as OpenCase[]) {
        cases++;
        const verifiers = c.trustedVkeys.map(parseVerifierKey);
        if (c.wantErr) {
          throwsNote(() => openNote(v.signedNote as string, verifiers), 'NOTE_UNVERIFIED', c.wantErrText);
          continue;
        }
        const opened = openNote(v.signedNote as string, verifiers);
        if (c.wantText !== undefined) assert.equal(opened.text, c.wantText);
        if (c.wantVerifiedSigs) assert.deepEqual(opened.verified.map(label), c.wantVerifiedSigs);
        if (c.wantUnverifiedSigs) assert.deepEqual(opened.unverified.map(label), c.wantUnverifiedSigs);
      }
    }
    assert.equal(cases, 4);
  });

  test('open-errors vectors are all refused with the right code', () => {
    const v = vector('go-note-open-errors');
    const verifiers = (v.trustedVkeys as string[]).map(parseVerifierKey);
    const cases = v.cases as OpenErrorCase[];
    assert.equal(cases.length, 8);
    for (const c of cases) {
      const repeat = c.signedNote_repeat;
      const note = c.signedNote ?? repeat!.prefix + repeat!.line.repeat(repeat!.count);
      assert.ok(c.wantErr);
      const badSig = c.wantErrText?.startsWith('invalid signature');
      const code: NoteErrorCode = badSig ? 'NOTE_SIGNATURE_INVALID' : 'NOTE_MALFORMED';
      throwsNote(() => openNote(note, verifiers), code, c.wantErrText);
    }
  });

  test('signature count: 100 accepted (spec minimum is 16), 101 refused before any verification', () => {
    const v = parseVerifierKey(PETER_VKEY);
    for (const n of [16, 100]) {
      const opened = openNote(`${QUOTE}\n${PETER_SIG_LINE.repeat(n)}`, [v]);
      assert.deepEqual(opened.verified.map(label), ['PeterNeumann+c74f20a3']);
    }
    let calls = 0;
    const counting: NoteVerifier = { ...v, verify: (m, s) => (calls++, v.verify(m, s)) };
    throwsNote(() => openNote(`${QUOTE}\n${PETER_SIG_LINE.repeat(101)}`, [counting]), 'NOTE_MALFORMED');
    assert.equal(calls, 0);
  });

  test('a repeated signature by a known key is verified every time (stricter than Go)', () => {
    const v = parseVerifierKey(PETER_VKEY);
    const s = parseSignerKey(PETER_SKEY);
    const other = ed25519NoteSigner('PeterNeumann', generateNoteKey('x').privateKey);
    // Same name and key id, but signed by another key: Go skips the duplicate, the spec says it MUST verify.
    const forged = signNote(QUOTE, [{ ...other, keyId: s.keyId }]).slice(QUOTE.length + 1);
    throwsNote(() => openNote(`${QUOTE}\n${PETER_SIG_LINE}${forged}`, [v]), 'NOTE_SIGNATURE_INVALID');
  });

  test('unknown keys sharing only a name or only an id with a known key are ignored', () => {
    const v = parseVerifierKey(PETER_VKEY);
    const stranger = generateNoteKey('PeterNeumann');
    const sameName = ed25519NoteSigner('PeterNeumann', stranger.privateKey);
    const sameId = { ...ed25519NoteSigner('Impostor', stranger.privateKey), keyId: v.keyId };
    const note = signNote(QUOTE, [parseSignerKey(PETER_SKEY), sameName, sameId]);
    const opened = openNote(note, [v]);
    assert.deepEqual(opened.verified.map(label), ['PeterNeumann+c74f20a3']);
    assert.deepEqual(opened.unverified.map(label), [label(sameName), 'Impostor+c74f20a3']);
    // Unknown signatures are listed once per key.
    assert.equal(openNote(`${note}${note.slice(QUOTE.length + 1)}`, [v]).unverified.length, 2);
  });

  test('a known key with a signature of the wrong length fails as an invalid signature', () => {
    const v = parseVerifierKey(PETER_VKEY);
    for (const len of [1, 63, 65]) {
      const raw = Buffer.concat([Buffer.from('c74f20a3', 'hex'), Buffer.alloc(len, 7)]);
      throwsNote(() => openNote(`${QUOTE}\n— PeterNeumann ${raw.toString('base64')}\n`, [v]), 'NOTE_SIGNATURE_INVALID');
    }
  });

  test('signature lines are parsed strictly', () => {
    const v = parseVerifierKey(PETER_VKEY);
    const b64 = PETER_SIG_LINE.slice('— PeterNeumann '.length, -1);
    const unusedBits = b64.slice(0, -2) + String.fromCharCode(b64.charCodeAt(b64.length - 2) + 1) + '=';
    const lines = [
      `- PeterNeumann ${b64}`, // hyphen, not em dash
      `—PeterNeumann ${b64}`,
      `—  PeterNeumann ${b64}`,
      `— PeterNeumann  ${b64}`,
      `— PeterNeumann ${b64} `,
      `— PeterNeumann ${b64.slice(0, -1)}`, // unpadded
      `— PeterNeumann ${b64.replace(/\//g, '_')}`, // URL-safe
      `— PeterNeumann ${unusedBits}`, // non-canonical trailing bits
      `— PeterNeumann`,
      `— PeterNeumann `,
      `— Peter+Neumann ${b64}`,
      `— Peter\u00a0Neumann ${b64}`,
      `— PeterNeumann ${Buffer.from('c74f20a3', 'hex').toString('base64')}`, // id only, no signature
    ];
    for (const line of lines) throwsNote(() => openNote(`${QUOTE}\n${line}\n`, [v]), 'NOTE_MALFORMED', /./);
    // A malformed line is fatal even next to a good signature.
    throwsNote(() => openNote(`${QUOTE}\n${PETER_SIG_LINE}${lines[0]}\n`, [v]), 'NOTE_MALFORMED');
  });

  test('bytes: invalid UTF-8 is refused, a BOM is kept as signed text', () => {
    const v = parseVerifierKey(PETER_VKEY);
    const good = Buffer.from(`${QUOTE}\n${PETER_SIG_LINE}`);
    assert.equal(openNote(good, [v]).text, QUOTE);
    throwsNote(() => openNote(Buffer.concat([Buffer.from([0xff]), good]), [v]), 'NOTE_MALFORMED');
    throwsNote(() => openNote(Buffer.concat([Buffer.from([0xc0, 0x80]), good]), [v]), 'NOTE_MALFORMED'); // overlong NUL
    const surrogate = Buffer.from([0xed, 0xa0, 0x80]);
    throwsNote(() => openNote(Buffer.concat([surrogate, good]), [v]), 'NOTE_MALFORMED');
    // A BOM in front changes the signed text, so Peter's signature no longer verifies.
    throwsNote(() => openNote(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), good]), [v]), 'NOTE_SIGNATURE_INVALID');
    throwsNote(() => openNote(`\ud800${QUOTE}\n${PETER_SIG_LINE}`, [v]), 'NOTE_MALFORMED');
    throwsNote(() => openNote(42 as unknown as string, [v]), 'NOTE_MALFORMED');
  });

  test('size limit is enforced before parsing', () => {
    const k = generateNoteKey('big');
    const s = parseSignerKey(k.skey);
    const v = parseVerifierKey(k.vkey);
    const overhead = Buffer.byteLength(signNote('x\n', [s])) - 2; // blank line and signature line
    const fits = 'x'.repeat(NOTE_MAX_BYTES - overhead - 1) + '\n';
    const note = signNote(fits, [s]);
    assert.equal(Buffer.byteLength(note), NOTE_MAX_BYTES);
    assert.equal(openNote(note, [v]).text, fits);
    throwsNote(() => openNote(`y${note}`, [v]), 'NOTE_MALFORMED', /larger/);
    throwsNote(() => openNote(Buffer.from(`y${note}`), [v]), 'NOTE_MALFORMED', /larger/);
    // Multi-byte characters count in bytes, not UTF-16 units.
    throwsNote(() => openNote('é'.repeat(NOTE_MAX_BYTES / 2 + 1), [v]), 'NOTE_MALFORMED', /larger/);
  });

  test('ambiguous verifiers are refused; the same verifier twice is fine', () => {
    const v = parseVerifierKey(PETER_VKEY);
    const note = `${QUOTE}\n${PETER_SIG_LINE}`;
    assert.equal(openNote(note, [v, v]).verified.length, 1);
    throwsNote(() => openNote(note, [v, { ...v }]), 'KEY_INVALID', /ambiguous/);
    throwsNote(() => openNote(note, [{ ...v, keyId: 1.5 }]), 'KEY_INVALID');
  });
});

describe('fuzzing openNote', () => {
  const v = parseVerifierKey(PETER_VKEY);
  const good = `${QUOTE}\n${PETER_SIG_LINE}`;

  test('arbitrary strings and bytes raise nothing but NoteError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' })), (s) =>
        onlyNoteErrors(() => openNote(s, [v])),
      ),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => onlyNoteErrors(() => openNote(Buffer.from(b), [v]))),
      { numRuns: 2000 },
    );
  });

  test('notes assembled from note-like pieces raise nothing but NoteError', () => {
    const piece = fc.constantFrom(
      ...['\n', '\n\n', '— ', '—', ' ', 'PeterNeumann', 'x08go/ZJ', '=', '+', 'AAAA', '\u00a0', '\r'],
      ...[QUOTE, PETER_SIG_LINE],
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (parts) => onlyNoteErrors(() => openNote(parts.join(''), [v]))),
      { numRuns: 3000 },
    );
  });

  test('no single-byte change of a signed note opens with different text', () => {
    fc.assert(
      fc.property(fc.nat({ max: Buffer.byteLength(good) - 1 }), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const bytes = Buffer.from(good);
        bytes[at] = bytes[at]! ^ xor;
        assert.throws(() => openNote(bytes, [v]), NoteError);
      }),
      { numRuns: 3000 },
    );
  });
});

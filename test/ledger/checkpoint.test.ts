import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  CheckpointError,
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
  type Checkpoint,
  type CheckpointErrorCode,
} from '../../src/ledger/checkpoint.ts';
import {
  generateNoteKey,
  NoteError,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  type NoteErrorCode,
} from '../../src/ledger/note.ts';

// Vectors transcribed from golang/mod sumdb/tlog and transparency-dev/formats;
// see test/fixtures/tlog/README.md for sources.
interface Vector {
  id: string;
  kind: string;
  [field: string]: unknown;
}
interface UnmarshalCase {
  desc: string;
  body: string;
  wantErr: boolean;
  wantOrigin?: string;
  wantSize?: number;
  wantRest?: string;
}
interface ParseCase {
  desc: string;
  signers: string[];
  origin?: string;
  expectedOrigin?: string;
  bodyOverride?: string;
  wantErr: boolean;
  wantVerifiedSigs?: number;
}

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/tlog/signed-notes.json', import.meta.url), 'utf8'),
) as { vectors: Vector[] };
const vector = (id: string): Vector => {
  const v = fixture.vectors.find((x) => x.id === id);
  assert.ok(v, `vector ${id}`);
  return v;
};

function throwsCode(fn: () => unknown, code: CheckpointErrorCode | NoteErrorCode): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CheckpointError || err instanceof NoteError, `expected a typed error, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}
const malformed = (fn: () => unknown) => throwsCode(fn, 'CHECKPOINT_MALFORMED');

const onlyTypedErrors = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof CheckpointError || err instanceof NoteError)) throw err;
  }
};

const ROOT = createHash('sha256').update('warrant').digest();
const EMPTY_ROOT = createHash('sha256').digest();
const hashLen = (body: string) => Buffer.from(body.split('\n')[2] ?? '', 'base64').length;

describe('checkpoint text', () => {
  test('Go sumdb tree body: format, parse and the invalid variants', () => {
    const v = vector('go-sumdb-tree-body');
    const c: Checkpoint = {
      origin: 'go.sum database tree',
      size: BigInt(v.treeSize as number),
      rootHash: createHash('sha256').update(Buffer.from('\x00hello world')).digest(),
      extensions: [],
    };
    assert.equal(c.rootHash.toString('base64'), v.rootHash_b64);
    assert.equal(formatCheckpoint(c), v.want);
    assert.deepEqual(parseCheckpoint(v.want as string), c);

    const [otherOrigin, hexSize, longRoot] = v.invalid as [string, string, string];
    // Syntactically a checkpoint; it is the origin check that refuses it.
    assert.equal(parseCheckpoint(otherOrigin).origin, 'not-go.sum database tree');
    // That origin has spaces, so it cannot be a key name: it is passed explicitly.
    const k = generateNoteKey('sum.golang.org');
    const verifier = parseVerifierKey(k.vkey);
    const signer = parseSignerKey(k.skey);
    const opened = openCheckpoint(signNote(v.want as string, [signer]), verifier, 'go.sum database tree');
    assert.deepEqual(opened.checkpoint, c);
    const signed = signNote(otherOrigin, [signer]);
    throwsCode(() => openCheckpoint(signed, verifier, 'go.sum database tree'), 'CHECKPOINT_ORIGIN_MISMATCH');
    malformed(() => parseCheckpoint(hexSize));
    malformed(() => parseCheckpoint(longRoot));
  });

  test('transparency-dev/formats marshal vectors', () => {
    type Marshal = { origin: string; size: number; hash_utf8: string; want: string };
    const cases = vector('formats-checkpoint-body').marshal as Marshal[];
    assert.equal(cases.length, 2);
    for (const m of cases) {
      const rootHash = Buffer.from(m.hash_utf8);
      const c: Checkpoint = { origin: m.origin, size: BigInt(m.size), rootHash, extensions: [] };
      const options = { rootHashSize: c.rootHash.length };
      assert.equal(formatCheckpoint(c, options), m.want);
      assert.deepEqual(parseCheckpoint(m.want, options), c);
      // At the default SHA-256 size these 7- and 37-byte "hashes" are refused both ways.
      malformed(() => formatCheckpoint(c));
      malformed(() => parseCheckpoint(m.want));
    }
  });

  test('transparency-dev/formats unmarshal vectors (strict where C2SP is)', () => {
    const cases = vector('formats-checkpoint-body').unmarshal as UnmarshalCase[];
    assert.equal(cases.length, 11);
    for (const u of cases) {
      // Upstream does not check the hash length, so each case is parsed at the length it carries.
      const options = { rootHashSize: hashLen(u.body) || 32 };
      // formats accepts empty trailing lines; C2SP says extension lines MUST be non-empty.
      const emptyExtensions = u.wantRest !== undefined && u.wantRest.split('\n').slice(0, -1).includes('');
      if (u.wantErr || emptyExtensions) {
        assert.ok(u.wantErr || u.desc.includes('trailing newlines'), u.desc);
        for (const rootHashSize of [options.rootHashSize, 7, 32, 37]) {
          malformed(() => parseCheckpoint(u.body, { rootHashSize }));
        }
        continue;
      }
      const c = parseCheckpoint(u.body, options);
      if (u.wantOrigin !== undefined) assert.equal(c.origin, u.wantOrigin, u.desc);
      if (u.wantSize !== undefined) assert.equal(c.size, BigInt(u.wantSize), u.desc);
      assert.equal(c.extensions.map((e) => `${e}\n`).join(''), u.wantRest ?? '', u.desc);
      assert.equal(formatCheckpoint(c, options), u.body, u.desc);
    }
  });

  test('tree size: ASCII decimal uint64, no sign, no leading zeros, no spaces', () => {
    const body = (size: string) => `log\n${size}\n${ROOT.toString('base64')}\n`;
    assert.equal(parseCheckpoint(body('0')).size, 0n);
    assert.equal(parseCheckpoint(body('18446744073709551615')).size, 2n ** 64n - 1n);
    const tooBig = ['18446744073709551616', '99999999999999999999', '100000000000000000000'];
    for (const size of ['', '00', '01', '-0', '-1', '+1', ' 1', '1 ', '1.0', '1e3', '0x10', ...tooBig, '١٢٣', '１']) {
      malformed(() => parseCheckpoint(body(size)));
    }
    malformed(() => formatCheckpoint({ origin: 'log', size: 2n ** 64n, rootHash: ROOT, extensions: [] }));
    malformed(() => formatCheckpoint({ origin: 'log', size: -1n, rootHash: ROOT, extensions: [] }));
    malformed(() => formatCheckpoint({ origin: 'log', size: 5 as unknown as bigint, rootHash: ROOT, extensions: [] }));
  });

  test('root hash: canonical standard base64 of exactly 32 bytes', () => {
    const body = (root: string) => `log\n1\n${root}\n`;
    const b64 = ROOT.toString('base64');
    assert.deepEqual(parseCheckpoint(body(b64)).rootHash, ROOT);
    const flipped = b64.slice(0, -2) + String.fromCharCode(b64.charCodeAt(b64.length - 2) + 1) + '=';
    assert.deepEqual(Buffer.from(flipped, 'base64'), ROOT); // Node decodes it alike; we must not
    const bad = [
      '',
      b64.slice(0, -1), // unpadded
      b64.replace(/\+/g, '-').replace(/\//g, '_') + (/[+/]/.test(b64) ? '' : '!'), // URL-safe
      flipped, // non-zero unused bits
      ` ${b64}`,
      `${b64} `,
      Buffer.alloc(31).toString('base64'),
      Buffer.alloc(33).toString('base64'),
      "ThisIsn'tBase64",
    ];
    for (const root of bad) malformed(() => parseCheckpoint(body(root)));
    malformed(() => formatCheckpoint({ origin: 'log', size: 1n, rootHash: Buffer.alloc(31), extensions: [] }));
    malformed(() => parseCheckpoint(body(b64), { rootHashSize: 0 }));
  });

  test('origin, extension lines and line structure', () => {
    const root = ROOT.toString('base64');
    assert.deepEqual(parseCheckpoint(`a b+c\n1\n${root}\next one\n— two\n`), {
      origin: 'a b+c', // the origin only SHOULD look like a key name
      size: 1n,
      rootHash: ROOT,
      extensions: ['ext one', '— two'],
    });
    const bad = [
      `\n1\n${root}\n`,
      `log\n1\n${root}`,
      `log\n1\n${root}\n\n`,
      `log\n1\n${root}\next\n\n`,
      `log\n1\n${root}\n\next\n`,
      `log\n1\n`,
      `log\n1\n${root}\r\n`,
      `log\r\n1\n${root}\n`,
      `lo\tg\n1\n${root}\n`,
      `lo\ud800g\n1\n${root}\n`,
      '',
      '\n',
    ];
    for (const text of bad) malformed(() => parseCheckpoint(text));
    const c: Checkpoint = { origin: 'log', size: 1n, rootHash: ROOT, extensions: [] };
    for (const origin of ['', 'a\nb', 'a\rb', 'a\ud800']) malformed(() => formatCheckpoint({ ...c, origin }));
    for (const ext of ['', 'a\nb', 'a\x00']) malformed(() => formatCheckpoint({ ...c, extensions: [ext] }));
  });

  test('the empty tree', () => {
    const c: Checkpoint = { origin: 'example.com/log', size: 0n, rootHash: EMPTY_ROOT, extensions: [] };
    assert.equal(formatCheckpoint(c), `example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n`);
    assert.deepEqual(parseCheckpoint(formatCheckpoint(c)), c);
  });
});

describe('signed checkpoints', () => {
  const v = vector('formats-test-keys');
  const keys = v.keys as { vkey: string; skey: string }[];
  const skeys = new Map(keys.map((k) => [k.vkey.split('+')[0]!, parseSignerKey(k.skey)]));
  const vkeys = new Map(keys.map((k) => [k.vkey.split('+')[0]!, parseVerifierKey(k.vkey)]));
  const log = vkeys.get('Log')!;
  const witnesses = [vkeys.get('Known')!, vkeys.get('KnownAgain')!];
  const body = `TestParseCheckpoint\n42\n${Buffer.from('abcdef').toString('base64')}\n`;
  // The formats vectors use a 6-byte "root"; the parse rules are otherwise unchanged.
  const options = { otherVerifiers: witnesses, rootHashSize: 6 };

  test('derived_signedCheckpoint_all4 is reproduced and opens with 3 verified, 1 unknown', () => {
    const note = v.derived_signedCheckpoint_all4 as string;
    assert.equal(signNote(body, ['Log', 'Known', 'KnownAgain', 'Unknown'].map((n) => skeys.get(n)!)), note);
    const opened = openCheckpoint(note, log, 'TestParseCheckpoint', options);
    const want = { origin: 'TestParseCheckpoint', size: 42n, rootHash: Buffer.from('abcdef'), extensions: [] };
    assert.deepEqual(opened.checkpoint, want);
    assert.equal(opened.note, note);
    assert.deepEqual(opened.verified.map((s) => s.name), ['Log', 'Known', 'KnownAgain']);
    assert.deepEqual(opened.unverified.map((s) => s.name), ['Unknown']);
    // Origin defaults to the log key's name, which here differs from the origin.
    throwsCode(() => openCheckpoint(note, log, undefined, options), 'CHECKPOINT_ORIGIN_MISMATCH');
    // At the default 32-byte root size the 6-byte root is refused, after the signatures verified.
    throwsCode(() => openCheckpoint(note, log, 'TestParseCheckpoint'), 'CHECKPOINT_MALFORMED');
  });

  test('transparency-dev/formats ParseCheckpoint cases', () => {
    const cases = v.parseCheckpointCases_upstream as ParseCase[];
    assert.equal(cases.length, 10);
    for (const c of cases) {
      const text = c.bodyOverride ?? body;
      // signNote refuses to make a note without signatures; build that one by hand.
      const note = c.signers.length === 0 ? `${text}\n` : signNote(text, c.signers.map((n) => skeys.get(n)!));
      const origin = c.expectedOrigin ?? 'TestParseCheckpoint';
      if (!c.wantErr) {
        const opened = openCheckpoint(note, log, origin, options);
        assert.equal(opened.verified.length, c.wantVerifiedSigs, c.desc);
        continue;
      }
      const expectedCode: Record<string, CheckpointErrorCode | NoteErrorCode> = {
        'no sigs': 'NOTE_MALFORMED',
        'just known (log sig missing)': 'NOTE_UNVERIFIED',
        'wrong expected origin': 'CHECKPOINT_ORIGIN_MISMATCH',
        'bad body, good sig': 'CHECKPOINT_MALFORMED',
      };
      assert.ok(expectedCode[c.desc], c.desc);
      throwsCode(() => openCheckpoint(note, log, origin, options), expectedCode[c.desc]!);
    }
  });

  test('sign and open round-trip; origin defaults to the key name', () => {
    const k = generateNoteKey('example.com/warrant/log');
    const signer = parseSignerKey(k.skey);
    const verifier = parseVerifierKey(k.vkey);
    const c: Checkpoint = { origin: 'example.com/warrant/log', size: 123456789n, rootHash: ROOT, extensions: ['ext'] };
    const note = signCheckpoint(c, signer);
    assert.deepEqual(openCheckpoint(note, verifier).checkpoint, c);
    assert.deepEqual(openCheckpoint(Buffer.from(note), verifier).checkpoint, c);
    assert.equal(openCheckpoint(Buffer.from(note), verifier).note, note);
    throwsCode(() => openCheckpoint(note, verifier, 'example.com/other'), 'CHECKPOINT_ORIGIN_MISMATCH');
    // A different key under the same name is an unknown key: nothing verifies.
    const namesake = parseVerifierKey(generateNoteKey('example.com/warrant/log').vkey);
    throwsCode(() => openCheckpoint(note, namesake), 'NOTE_UNVERIFIED');
    // A witness signature verifies alongside but never stands in for the log's.
    const w = generateNoteKey('witness.example');
    const cosigned = signNote(formatCheckpoint(c), [signer, parseSignerKey(w.skey)]);
    const wv = parseVerifierKey(w.vkey);
    assert.equal(openCheckpoint(cosigned, verifier, undefined, { otherVerifiers: [wv] }).verified.length, 2);
    const witnessOnly = signNote(formatCheckpoint(c), [parseSignerKey(w.skey)]);
    throwsCode(() => openCheckpoint(witnessOnly, verifier, undefined, { otherVerifiers: [wv] }), 'NOTE_UNVERIFIED');
    // A known witness whose signature fails rejects the whole checkpoint.
    const forgedWitness = { ...parseSignerKey(generateNoteKey('witness.example').skey), keyId: wv.keyId };
    const bad = signNote(formatCheckpoint(c), [signer, forgedWitness]);
    throwsCode(() => openCheckpoint(bad, verifier, undefined, { otherVerifiers: [wv] }), 'NOTE_SIGNATURE_INVALID');
    assert.equal(openCheckpoint(bad, verifier).unverified.length, 1);
    // signCheckpoint refuses what parseCheckpoint would refuse.
    malformed(() => signCheckpoint({ ...c, rootHash: Buffer.alloc(1) }, signer));
  });

  test('changing any byte of a signed checkpoint, to any value, stops it opening', () => {
    const k = generateNoteKey('example.com/log');
    const verifier = parseVerifierKey(k.vkey);
    const c: Checkpoint = { origin: 'example.com/log', size: 1000n, rootHash: ROOT, extensions: ['e'] };
    const note = Buffer.from(signCheckpoint(c, parseSignerKey(k.skey)));
    openCheckpoint(note, verifier);
    let attempts = 0;
    for (let at = 0; at < note.length; at++) {
      for (let value = 0; value < 256; value++) {
        if (value === note[at]) continue;
        const tampered = Buffer.from(note);
        tampered[at] = value;
        attempts++;
        assert.throws(
          () => openCheckpoint(tampered, verifier),
          (err: unknown) => err instanceof NoteError || err instanceof CheckpointError,
          `byte ${at} set to ${value}`,
        );
      }
    }
    assert.equal(attempts, note.length * 255);
    // Dropping or inserting a byte anywhere fails too.
    for (let at = 0; at <= note.length; at++) {
      const cut = Buffer.concat([note.subarray(0, at), note.subarray(at + 1)]);
      if (at < note.length) assert.throws(() => openCheckpoint(cut, verifier));
      const grown = Buffer.concat([note.subarray(0, at), Buffer.from('0'), note.subarray(at)]);
      assert.throws(() => openCheckpoint(grown, verifier));
    }
  });
});

describe('checkpoint properties', () => {
  const noControls = (s: string) => s.split('').every((ch) => ch >= ' ');
  const origin = fc.string({ minLength: 1, maxLength: 40 }).filter(noControls);
  const line = fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme' }).filter(noControls);
  const checkpoint = fc
    .record({
    origin,
    size: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    rootHash: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b)),
    extensions: fc.array(line, { maxLength: 3 }),
    })
    .map((c): Checkpoint => ({ ...c })); // fc.record builds null-prototype objects

  test('parseCheckpoint(formatCheckpoint(c)) is c', () => {
    fc.assert(
      fc.property(checkpoint, (c) => {
        const text = formatCheckpoint(c);
        assert.deepEqual(parseCheckpoint(text), c);
        assert.equal(formatCheckpoint(parseCheckpoint(text)), text);
      }),
      { numRuns: 1000 },
    );
  });

  test('signCheckpoint then openCheckpoint is the identity', () => {
    const k = generateNoteKey('log');
    const signer = parseSignerKey(k.skey);
    const verifier = parseVerifierKey(k.vkey);
    fc.assert(
      fc.property(checkpoint, (c) => {
        assert.deepEqual(openCheckpoint(signCheckpoint(c, signer), verifier, c.origin).checkpoint, c);
      }),
      { numRuns: 200 },
    );
  });

  test('parseCheckpoint and openCheckpoint raise nothing but typed errors', () => {
    const k = generateNoteKey('log');
    const verifier = parseVerifierKey(k.vkey);
    const root = ROOT.toString('base64');
    const signed = signCheckpoint({ origin: 'log', size: 1n, rootHash: ROOT, extensions: [] }, parseSignerKey(k.skey));
    const sigLine = signed.slice(signed.lastIndexOf('\n\n') + 2);
    const piece = fc.constantFrom(
      ...['\n', '\n\n', 'log', '0', '00', '1', '-1', '18446744073709551616', '=', ' ', '\r', '— ', 'log '],
      ...[root, root.slice(1)],
      ...[signed, sigLine, sigLine.slice(0, -1), signed.slice(0, signed.length / 2)],
    );
    const assembled = fc.array(piece, { maxLength: 10 }).map((p) => p.join(''));
    const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), assembled);
    fc.assert(
      fc.property(text, (s) => {
        onlyTypedErrors(() => parseCheckpoint(s));
        onlyTypedErrors(() => openCheckpoint(s, verifier));
        onlyTypedErrors(() => openCheckpoint(Buffer.from(s, 'latin1'), verifier));
      }),
      { numRuns: 3000 },
    );
  });
});

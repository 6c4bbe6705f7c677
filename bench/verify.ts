// Verification throughput: warrant's BundleVerifier against @sigstore/verify
// and against raw node:crypto signature checks over the same bytes.
//
//   npx node bench/verify.ts [--alg ed25519|ecdsa-p256] [--count 10000] [--rounds 5] [--no-stages]
//
// Every verifier gets the JSON text of each bundle, as read from disk, and
// every verification must succeed: a failure aborts the run, because a
// benchmark that measures rejections measures nothing.

import { createHash, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { bundleFromJSON } from '@sigstore/bundle';
import { PublicKeyDetails, TrustedRoot, type PublicKey as SigstorePublicKey } from '@sigstore/protobuf-specs';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import {
  BundleVerifier,
  DEFAULT_LIMITS,
  TrustedKeys,
  attest,
  canonicalize,
  decodeEnvelope,
  digestBytes,
  envelopeDigest,
  exportPublicKeyDer,
  generateKey,
  normalizedEnvelope,
  parseBoundedJson,
  parseBundle,
  preAuthEncoding,
  validateStatement,
  verifyEnvelopeSignatures,
  type KeyAlgorithm,
  type PrivateKey,
} from '../src/evidence/index.ts';
import { parseStatementPayload } from '../src/evidence/checks.ts';
import { jsonDepthExceeds } from '../src/evidence/json.ts';
import { verifyBytes } from '../src/evidence/signature.ts';
import { fmtInt as fmtRate, median, table } from './common.ts';

// ---------------------------------------------------------------- options

const { values: args } = parseArgs({
  options: {
    alg: { type: 'string', default: 'ed25519' },
    count: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '5' },
    'no-stages': { type: 'boolean', default: false },
  },
  strict: true,
});

function isKeyAlgorithm(value: string): value is KeyAlgorithm {
  return value === 'ed25519' || value === 'ecdsa-p256';
}

function positiveInt(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${text}`);
  return n;
}

if (!isKeyAlgorithm(args.alg)) throw new Error(`--alg must be ed25519 or ecdsa-p256, got ${args.alg}`);
const ALG: KeyAlgorithm = args.alg;
const COUNT = positiveInt(args.count, 'count');
const ROUNDS = positiveInt(args.rounds, 'rounds');
const WARMUP = Math.min(COUNT, 2000);
/** Bundles per slice when contenders alternate within a round. */
const CHUNK = 500;

// ---------------------------------------------------------------- fixtures

const PREDICATE_TYPES = [
  'https://slsa.dev/provenance/v1',
  'https://warrant.dev/attestation/test-result/v1',
  'https://warrant.dev/attestation/review/v1',
  'https://spdx.dev/Document/v2.3',
];

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A statement of realistic size (about 1 KiB), distinct in subject and predicate for each i. */
function statementFor(i: number): {
  subjects: { name: string; digest: Record<string, string> }[];
  predicateType: string;
  predicate: Record<string, unknown>;
} {
  const commit = sha256Hex(`commit-${i}`).slice(0, 40);
  return {
    subjects: [
      { name: `pkg:npm/example-${i}@1.${i % 97}.${i % 13}`, digest: { sha256: sha256Hex(`artifact-${i}`) } },
      {
        name: `dist/example-${i}.tgz`,
        digest: { sha256: sha256Hex(`tarball-${i}`), sha512: createHash('sha512').update(`tarball-${i}`).digest('hex') },
      },
    ],
    predicateType: PREDICATE_TYPES[i % PREDICATE_TYPES.length]!,
    predicate: {
      buildDefinition: {
        buildType: 'https://warrant.dev/build/npm/v1',
        externalParameters: { repository: `https://git.example.com/team-${i % 50}/example-${i}`, ref: 'refs/heads/main', commit },
        resolvedDependencies: [
          { uri: `git+https://git.example.com/team-${i % 50}/example-${i}@${commit}`, digest: { gitCommit: commit } },
        ],
      },
      runDetails: {
        builder: { id: 'https://ci.example.com/runners/linux-x64' },
        metadata: { invocationId: `run-${i}`, startedOn: new Date(1_700_000_000_000 + i * 60_000).toISOString() },
      },
    },
  };
}

interface Fixtures {
  key: PrivateKey;
  /** The JSON text of each bundle, as a verifier would read it from disk. */
  texts: string[];
}

function makeFixtures(alg: KeyAlgorithm, count: number): Fixtures {
  const key = generateKey(alg);
  const texts: string[] = [];
  for (let i = 0; i < count; i++) texts.push(JSON.stringify(attest({ key, ...statementFor(i) }).bundle));
  if (new Set(texts).size !== count) throw new Error('bundles are not distinct');
  return { key, texts };
}

// ---------------------------------------------------------------- verifiers

/** Verifies bundle i; throws if it does not verify. */
type VerifyOne = (i: number) => void;

interface Contender {
  name: string;
  verifyOne: VerifyOne;
}

function warrantContender(fx: Fixtures): Contender {
  const verifier = new BundleVerifier(new TrustedKeys([fx.key]));
  return {
    name: 'warrant BundleVerifier',
    verifyOne: (i) => {
      const result = verifier.verify(fx.texts[i]!);
      if (!result.ok) throw new Error(`warrant rejected bundle ${i}: ${result.code} ${result.message}`);
    },
  };
}

const EMPTY_TRUSTED_ROOT = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
};

/** @sigstore/verify with the key as trust material and no log, CT or timestamp requirement; throws on failure. */
function sigstoreVerifyText(key: PrivateKey): (text: string) => void {
  const publicKey: SigstorePublicKey = {
    rawBytes: exportPublicKeyDer(key),
    keyDetails: key.algorithm === 'ed25519' ? PublicKeyDetails.PKIX_ED25519 : PublicKeyDetails.PKIX_ECDSA_P256_SHA_256,
  };
  const trust = toTrustMaterial(TrustedRoot.fromJSON(EMPTY_TRUSTED_ROOT), { [key.keyId]: publicKey });
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  return (text) => {
    verifier.verify(toSignedEntity(bundleFromJSON(JSON.parse(text))));
  };
}

function sigstoreContender(fx: Fixtures): Contender {
  const verifyText = sigstoreVerifyText(fx.key);
  return { name: '@sigstore/verify', verifyOne: (i) => verifyText(fx.texts[i]!) };
}

interface RawInput {
  pae: Buffer;
  sig: Buffer;
}

interface EnvelopeJson {
  payload: string;
  payloadType: string;
  signatures: { sig: string }[];
}

/** The PAE bytes and signature of each bundle, decoded ahead of time. */
function rawInputs(fx: Fixtures): RawInput[] {
  return fx.texts.map((text) => {
    const env = (JSON.parse(text) as { dsseEnvelope: EnvelopeJson }).dsseEnvelope;
    return {
      pae: preAuthEncoding(env.payloadType, Buffer.from(env.payload, 'base64')),
      sig: Buffer.from(env.signatures[0]!.sig, 'base64'),
    };
  });
}

/**
 * The fastest correct node:crypto call. ECDSA signatures are DER, node's
 * default, so the KeyObject is passed bare: wrapping it as
 * `{ key, dsaEncoding: 'der' }` gives the same answer but costs about 10 us
 * more per call on Node 24 (measured; the same holds for sign).
 */
function rawVerify(alg: KeyAlgorithm, key: KeyObject): (data: Buffer, sig: Buffer) => boolean {
  return alg === 'ed25519'
    ? (data, sig) => cryptoVerify(null, data, key, sig)
    : (data, sig) => cryptoVerify('sha256', data, key, sig);
}

function rawContender(fx: Fixtures, inputs: readonly RawInput[]): Contender {
  const check = rawVerify(fx.key.algorithm, fx.key.key);
  return {
    name: 'raw node:crypto verify',
    verifyOne: (i) => {
      const { pae, sig } = inputs[i]!;
      if (!check(pae, sig)) throw new Error(`raw verify rejected bundle ${i}`);
    },
  };
}

/**
 * Each verifier must reject a bundle whose signature has one bit flipped, or
 * "every verification succeeds" would prove nothing.
 */
function assertRejectsTampered(fx: Fixtures): void {
  const bundle = JSON.parse(fx.texts[0]!) as { dsseEnvelope: EnvelopeJson };
  const sig = Buffer.from(bundle.dsseEnvelope.signatures[0]!.sig, 'base64');
  sig[sig.length >> 1]! ^= 0x01;
  bundle.dsseEnvelope.signatures[0]!.sig = sig.toString('base64');
  const text = JSON.stringify(bundle);
  const input = rawInputs({ key: fx.key, texts: [text] })[0]!;
  if (rawVerify(fx.key.algorithm, fx.key.key)(input.pae, input.sig)) throw new Error('raw verify accepted a tampered signature');
  if (new BundleVerifier(new TrustedKeys([fx.key])).verify(text).ok) throw new Error('warrant accepted a tampered signature');
  let sigstoreRejected = false;
  try {
    sigstoreVerifyText(fx.key)(text);
  } catch {
    sigstoreRejected = true;
  }
  if (!sigstoreRejected) throw new Error('@sigstore/verify accepted a tampered signature');
}

// ---------------------------------------------------------------- timing

/** Seconds to run fn over indices [from, to). */
function timePass(fn: VerifyOne, to: number, from = 0): number {
  const start = process.hrtime.bigint();
  for (let i = from; i < to; i++) fn(i);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

interface Measured {
  name: string;
  rates: number[];
  median: number;
  best: number;
}

/**
 * Runs every contender over all bundles `rounds` times. Within a round the
 * bundles are taken in slices of CHUNK and the contenders alternate slice by
 * slice (in an order that rotates), so a burst of load from elsewhere on the
 * machine lands on all of them alike instead of on whichever ran at the time.
 */
function measure(contenders: readonly Contender[], count: number, rounds: number): Measured[] {
  for (const c of contenders) timePass(c.verifyOne, WARMUP);
  const rates = contenders.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    const seconds = contenders.map(() => 0);
    for (let from = 0, slice = 0; from < count; from += CHUNK, slice++) {
      const to = Math.min(count, from + CHUNK);
      for (let k = 0; k < contenders.length; k++) {
        const j = (k + slice + r) % contenders.length;
        seconds[j]! += timePass(contenders[j]!.verifyOne, to, from);
      }
    }
    seconds.forEach((s, j) => rates[j]!.push(count / s));
  }
  return contenders.map((c, j) => ({ name: c.name, rates: rates[j]!, median: median(rates[j]!), best: Math.max(...rates[j]!) }));
}

// ---------------------------------------------------------------- stages

interface Stage {
  name: string;
  /** A whole step of BundleVerifier.verify (summed), or a part of the step above it. */
  part: boolean;
  run: VerifyOne;
}

/**
 * The steps of BundleVerifier.verify taken one at a time, each over every
 * bundle, with the parts that make up each step, so the cost of each shows
 * up in microseconds per bundle. Inputs of each are precomputed.
 */
function stages(fx: Fixtures): Stage[] {
  const limits = DEFAULT_LIMITS;
  const values = fx.texts.map((t) => JSON.parse(t) as { dsseEnvelope: unknown });
  const envelopes = values.map((v) => decodeEnvelope(v.dsseEnvelope, limits));
  const paes = envelopes.map((e) => preAuthEncoding(e.payloadType, e.payload));
  const statements = envelopes.map((e) => JSON.parse(e.payload.toString('utf8')) as unknown);
  const normalized = envelopes.map((e) => normalizedEnvelope(e));
  const canonical = normalized.map((n) => canonicalize(n));
  const keys = new TrustedKeys([fx.key]);
  const check = rawVerify(fx.key.algorithm, fx.key.key);
  const utf8 = new TextDecoder('utf-8', { fatal: false });
  // Results go somewhere observable so no stage can be optimised away.
  const sink = { value: undefined as unknown };
  const keep = (v: unknown): void => {
    sink.value = v;
  };
  const step = (name: string, run: VerifyOne): Stage => ({ name, part: false, run });
  const part = (name: string, run: VerifyOne): Stage => ({ name: `  ${name}`, part: true, run });
  return [
    step('parseBundle (bundle JSON, shape, decodeEnvelope)', (i) => keep(parseBundle(fx.texts[i]!, limits))),
    part('Buffer.byteLength (size limit)', (i) => keep(Buffer.byteLength(fx.texts[i]!))),
    part('jsonDepthExceeds (depth limit)', (i) => keep(jsonDepthExceeds(fx.texts[i]!, limits.maxJsonDepth))),
    part('JSON.parse', (i) => keep(JSON.parse(fx.texts[i]!))),
    part('decodeEnvelope (strict base64)', (i) => keep(decodeEnvelope(values[i]!.dsseEnvelope, limits))),
    step('verifyEnvelopeSignatures', (i) => keep(verifyEnvelopeSignatures(envelopes[i]!, keys))),
    part('preAuthEncoding', (i) => keep(preAuthEncoding(envelopes[i]!.payloadType, envelopes[i]!.payload))),
    part('node:crypto verify (bare KeyObject, as raw)', (i) => keep(check(paes[i]!, envelopes[i]!.signatures[0]!.sig))),
    part('verifyBytes (src/evidence/signature.ts)', (i) => keep(verifyBytes(fx.key, paes[i]!, envelopes[i]!.signatures[0]!.sig))),
    step('parseStatementPayload (statement JSON, validate)', (i) => keep(parseStatementPayload(envelopes[i]!, limits))),
    part('TextDecoder (payload to text)', (i) => keep(utf8.decode(envelopes[i]!.payload))),
    part('parseBoundedJson (payload)', (i) => keep(parseBoundedJson(envelopes[i]!.payload, 'statement', limits))),
    part('validateStatement', (i) => keep(validateStatement(statements[i]!, limits))),
    step('envelopeDigest', (i) => keep(envelopeDigest(envelopes[i]!))),
    part('normalizedEnvelope (re-encode base64)', (i) => keep(normalizedEnvelope(envelopes[i]!))),
    part('canonicalize (RFC 8785, package)', (i) => keep(canonicalize(normalized[i]!))),
    part('sha256 of the canonical text', (i) => keep(digestBytes(canonical[i]!))),
  ];
}

/**
 * The same precomputed signature checks, timed call by call, once back to
 * back and once with a full warrant verification of another bundle between
 * calls: part of the "rest" is the crypto itself running colder.
 */
function cryptoInterleaved(fx: Fixtures, warrant: Contender): [tightUs: number, mixedUs: number] {
  const inputs = rawInputs(fx);
  const check = rawVerify(fx.key.algorithm, fx.key.key);
  const once = (i: number): bigint => {
    const start = process.hrtime.bigint();
    if (!check(inputs[i]!.pae, inputs[i]!.sig)) throw new Error(`raw verify rejected bundle ${i}`);
    return process.hrtime.bigint() - start;
  };
  let tight = 0n;
  let mixed = 0n;
  for (let i = 0; i < COUNT; i++) tight += once(i);
  for (let i = 0; i < COUNT; i++) {
    warrant.verifyOne((i * 7919 + 1) % COUNT);
    mixed += once(i);
  }
  return [Number(tight) / 1e3 / COUNT, Number(mixed) / 1e3 / COUNT];
}

// ---------------------------------------------------------------- report


function main(): void {
  const t0 = performance.now();
  console.log(`warrant verification benchmark (bench/verify.ts)`);
  console.log(`date: ${new Date().toISOString()}`);
  console.log(`node: ${process.version} (${process.platform}/${process.arch}, OpenSSL ${process.versions.openssl})`);
  console.log(`cpu: ${cpus()[0]?.model ?? 'unknown'} x ${cpus().length}`);
  console.log(`algorithm: ${ALG}; bundles: ${COUNT}; rounds: ${ROUNDS} (median reported; warm-up ${WARMUP} each)`);

  const fx = makeFixtures(ALG, COUNT);
  const avgBytes = fx.texts.reduce((s, t) => s + Buffer.byteLength(t), 0) / COUNT;
  const madeIn = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`fixtures: ${COUNT} distinct bundles, ${Math.round(avgBytes)} bytes average, made in ${madeIn} s`);

  const raw = rawContender(fx, rawInputs(fx));
  const warrant = warrantContender(fx);
  const sigstore = sigstoreContender(fx);
  // Every contender must accept every bundle, and reject a forged one, before anything is timed.
  for (const c of [raw, warrant, sigstore]) timePass(c.verifyOne, COUNT);
  assertRejectsTampered(fx);
  console.log('checked: all three accept all bundles and reject a bundle with one signature bit flipped');

  const results = measure([raw, warrant, sigstore], COUNT, ROUNDS);
  const [rawR, warrantR, sigstoreR] = results as [Measured, Measured, Measured];

  console.log('');
  console.log(
    table(
      ['verifier', 'ops/s (median)', 'ops/s (best)', 'us/op', 'x raw', 'x @sigstore/verify'],
      results.map((r) => [
        r.name,
        fmtRate(r.median),
        fmtRate(r.best),
        (1e6 / r.median).toFixed(1),
        (r.median / rawR.median).toFixed(2),
        (r.median / sigstoreR.median).toFixed(2),
      ]),
    ),
  );
  console.log(`rounds (ops/s): ${results.map((r) => `${r.name}: ${r.rates.map(fmtRate).join(', ')}`).join('; ')}`);

  const vsRaw = warrantR.median / rawR.median;
  const vsSigstore = warrantR.median / sigstoreR.median;
  // Run-to-run spread of warrant's rate: a margin smaller than this is a tie, not a result.
  const spread = (Math.max(...warrantR.rates) - Math.min(...warrantR.rates)) / warrantR.median;
  const verdict = (met: boolean, ratio: number, bound: number): string => {
    const close =
      Math.abs(ratio - bound) / bound < spread ? `, within warrant's run-to-run spread of ${(spread * 100).toFixed(1)}%` : '';
    return `${met ? 'MET' : 'NOT MET'} (${ratio.toFixed(3)} x${close})`;
  };
  console.log('');
  console.log(`target warrant >= 0.8 x raw:       ${verdict(vsRaw >= 0.8, vsRaw, 0.8)}`);
  console.log(`target warrant > @sigstore/verify: ${verdict(vsSigstore > 1, vsSigstore, 1)}`);

  if (!args['no-stages']) {
    const list = stages(fx);
    const rounds = Math.min(ROUNDS, 3);
    for (const s of list) timePass(s.run, WARMUP);
    const warrantUs = 1e6 / warrantR.median;
    const share = (us: number): string => `${((us / warrantUs) * 100).toFixed(1)}%`;
    let sum = 0;
    const rows = list.map((s) => {
      const us = (median(Array.from({ length: rounds }, () => timePass(s.run, COUNT))) * 1e6) / COUNT;
      if (!s.part) sum += us;
      return [s.name, us.toFixed(2), share(us)];
    });
    rows.push(['sum of the four steps', sum.toFixed(2), share(sum)]);
    rows.push(['rest (not seen in any step alone)', (warrantUs - sum).toFixed(2), share(warrantUs - sum)]);
    console.log('');
    console.log(`stages of BundleVerifier.verify, each alone (median of ${rounds}), against its ${warrantUs.toFixed(1)} us/op:`);
    console.log(table(['stage', 'us/bundle', 'of warrant'], rows));
    const [tight, mixed] = cryptoInterleaved(fx, warrant);
    console.log(
      `node:crypto verify: ${tight.toFixed(1)} us in a tight loop, ${mixed.toFixed(1)} us when each call follows a ` +
        `BundleVerifier.verify of another bundle (+${(mixed - tight).toFixed(1)} us: caches and branch predictors ` +
        'lost to the JS work in between)',
    );
  }
  console.log('');
  console.log(`total time: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

main();

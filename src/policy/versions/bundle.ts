import {
  attest,
  BundleVerifier,
  canonicalize,
  digestBytes,
  formatDigest,
  type Bundle,
  type KeyRing,
  type PrivateKey,
} from '../../evidence/index.ts';
import type { PolicySource } from '../load.ts';
import { PolicyVersionError } from './errors.ts';

export const POLICY_BUNDLE_PREDICATE = 'urn:warrant:predicate:policy-bundle:v1';
export const POLICY_BUNDLE_SUBJECT = 'policy-bundle';

/** One policy file as carried in a bundle: its path relative to the published directory, posix. */
export interface PolicyBundleFile {
  path: string;
  sha256: string;
  content: string;
}

/** A bundle that verified: its version, its files as policy sources, and its content digest. */
export interface LoadedPolicyBundle {
  version: number;
  /** `sha256:<hex>` of the RFC 8785 form of the files list: names the exact policy content. */
  digest: string;
  sources: PolicySource[];
  createdAt: string;
  /** Key id of the trusted key that signed it. */
  signer: string;
}

/** sha256 of the canonical JSON of the files list, as `sha256:<hex>`. */
export function filesDigest(files: readonly PolicyBundleFile[]): string {
  return formatDigest(digestBytes(canonicalize(files)));
}

/** Signs policy sources as a versioned bundle. `files` paths must already be relative. */
export function buildPolicyBundle(input: {
  key: PrivateKey;
  version: number;
  files: readonly { path: string; content: string }[];
  now?: Date;
}): { bundle: Bundle; digest: string } {
  checkVersion(input.version);
  const files = input.files
    .map((f) => ({ path: checkPath(f.path), sha256: digestBytes(f.content).hex, content: f.content }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  checkUnique(files);
  const digest = filesDigest(files);
  const { bundle } = attest({
    key: input.key,
    subjects: [{ name: POLICY_BUNDLE_SUBJECT, digest: { sha256: digest.slice('sha256:'.length) } }],
    predicateType: POLICY_BUNDLE_PREDICATE,
    predicate: { version: input.version, files, createdAt: (input.now ?? new Date()).toISOString() },
  });
  return { bundle, digest };
}

/**
 * Verifies a policy bundle against trusted keys, then checks that its content
 * is what it claims: every file's sha256 and the subject digest over all of
 * them. Only then are its files handed out as policy sources.
 */
export function loadPolicyBundle(bytes: string | Uint8Array, keys: KeyRing): LoadedPolicyBundle {
  const r = new BundleVerifier(keys).verify(bytes, { predicateType: POLICY_BUNDLE_PREDICATE });
  if (!r.ok) throw new PolicyVersionError('POLICY_BUNDLE_UNVERIFIED', `policy bundle does not verify: ${r.code}: ${r.message}`);
  const statement = r.statement!;
  const invalid = (why: string): never => {
    throw new PolicyVersionError('POLICY_BUNDLE_INVALID', `policy bundle ${why}`);
  };
  const p = statement.predicate ?? {};
  if (typeof p.version !== 'number' || !Number.isSafeInteger(p.version) || p.version < 1) invalid('version must be an integer >= 1');
  if (typeof p.createdAt !== 'string') invalid('createdAt must be a string');
  if (!Array.isArray(p.files) || p.files.length === 0) invalid('files must be a non-empty array');
  const files: PolicyBundleFile[] = [];
  for (const [i, f] of (p.files as unknown[]).entries()) {
    if (!isRecord(f)) return invalid(`files[${i}] is not an object`);
    const { path, sha256, content } = f;
    if (typeof path !== 'string' || typeof sha256 !== 'string' || typeof content !== 'string') {
      return invalid(`files[${i}] needs string path, sha256 and content`);
    }
    try {
      checkPath(path);
    } catch (err) {
      return invalid((err as Error).message);
    }
    if (digestBytes(content).hex !== sha256) invalid(`file ${path}: content does not match its sha256`);
    files.push({ path, sha256, content });
  }
  checkUnique(files);
  const digest = filesDigest(files);
  const subject = statement.subject.find((s) => s.name === POLICY_BUNDLE_SUBJECT);
  if (statement.subject.length !== 1 || subject === undefined || `sha256:${subject.digest.sha256}` !== digest) {
    invalid(`subject must be one "${POLICY_BUNDLE_SUBJECT}" whose sha256 is the files digest ${digest}`);
  }
  return {
    version: p.version as number,
    digest,
    sources: files.map((f) => ({ file: f.path, text: f.content })),
    createdAt: p.createdAt as string,
    signer: r.signer.kind === 'key' ? r.signer.keyId : r.signer.identity,
  };
}

function checkVersion(version: number): void {
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new PolicyVersionError('VERSION_INVALID', `policy version must be an integer >= 1, got ${version}`);
  }
}

/** Relative posix paths only: a bundle never names a file outside the directory it came from. */
function checkPath(path: string): string {
  const ok = path.length > 0 && !path.startsWith('/') && !path.includes('\\') && path.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
  if (!ok) throw new PolicyVersionError('POLICY_BUNDLE_INVALID', `file path "${path.slice(0, 200)}" must be relative, posix, without . or ..`);
  return path;
}

function checkUnique(files: readonly PolicyBundleFile[]): void {
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.path)) throw new PolicyVersionError('POLICY_BUNDLE_INVALID', `policy bundle names ${f.path} twice`);
    seen.add(f.path);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

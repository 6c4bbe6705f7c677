import {
  BundleVerifier,
  DEFAULT_LIMITS,
  SigstoreVerifier,
  TrustedKeys,
  artifactDigests,
  importPublicKey,
  parseTrustedRoot,
  publicGoodTrustedRoot,
  type ArtifactDigests,
  type IdentityPolicy,
  type TrustedRootJson,
  type VerificationResult,
} from '../../evidence/index.ts';
import { isBadInput, loadTrustedKeys } from '../../intake/index.ts';
import { Exit, UsageError, parse, readInput, warrantHome, type ExitCode, type Io } from '../io.ts';
import { publicGoodRootPath } from './trusted-root.ts';
import { readFile } from 'node:fs/promises';

export const usage = `warrant verify --bundle BUNDLE.json (--key PUB... | --trusted-root FILE|public-good [--key PUB]
               [--certificate-identity ID | --certificate-identity-regexp RE] --certificate-oidc-issuer URL)
               [--artifact FILE...] [--predicate-type URI] [--json]
  Exit 0 when the bundle verifies, 1 with a failure code when it does not,
  2 when an input is unreadable or malformed. Without --key or --trusted-root
  the keys in $WARRANT_HOME/trust are used.`;

/** A message-signature artifact is hashed in memory by the Sigstore library. */
const MAX_MESSAGE_ARTIFACT_BYTES = 512 * 1024 * 1024;

export async function verify(args: string[], io: Io): Promise<ExitCode> {
  const { values } = parse(args, {
    bundle: { type: 'string' },
    key: { type: 'string', multiple: true, default: [] },
    artifact: { type: 'string', multiple: true, default: [] },
    'predicate-type': { type: 'string' },
    'trusted-root': { type: 'string' },
    'certificate-identity': { type: 'string' },
    'certificate-identity-regexp': { type: 'string' },
    'certificate-oidc-issuer': { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (!values.bundle) throw new UsageError('verify needs --bundle BUNDLE.json');
  const identity = identityPolicy(values);
  const bundle = await readInput(values.bundle, 'bundle', DEFAULT_LIMITS.maxDocumentBytes);
  const keys = await Promise.all(
    values.key.map(async (k) => importPublicKey(await readInput(k, 'key', 64 * 1024), `key ${k}`)),
  );
  const artifacts = await Promise.all(
    values.artifact.map((a) =>
      artifactDigests(a, DEFAULT_LIMITS.maxArtifactBytes).catch((err: Error) => {
        throw new UsageError(err.message);
      }),
    ),
  );
  const predicateType = values['predicate-type'];

  let result: VerificationResult;
  if (values['trusted-root'] !== undefined) {
    const root = await loadTrustedRoot(values['trusted-root'], warrantHome(io.env));
    result = new SigstoreVerifier(root, keys).verify(bundle, {
      ...(identity ? { identity } : {}),
      ...(await messageArtifact(values.artifact, artifacts)),
      ...(predicateType ? { predicateType } : {}),
    });
  } else {
    if (identity) throw new UsageError('certificate identities need --trusted-root FILE|public-good');
    const ring = keys.length > 0 ? new TrustedKeys(keys) : await loadTrustedKeys(warrantHome(io.env));
    if (ring.all().length === 0) {
      throw new UsageError('verify needs --key PUB, --trusted-root, or keys in $WARRANT_HOME/trust');
    }
    result = new BundleVerifier(ring).verify(bundle, { artifacts, ...(predicateType ? { predicateType } : {}) });
  }
  report(result, values.json, io);
  if (result.ok) return Exit.OK;
  return isBadInput(result) ? Exit.USAGE : Exit.DENIED;
}

function identityPolicy(values: Record<string, string | boolean | string[] | undefined>): IdentityPolicy | undefined {
  const exact = values['certificate-identity'] as string | undefined;
  const pattern = values['certificate-identity-regexp'] as string | undefined;
  const issuer = values['certificate-oidc-issuer'] as string | undefined;
  if (exact === undefined && pattern === undefined && issuer === undefined) return undefined;
  if (exact !== undefined && pattern !== undefined) {
    throw new UsageError('give --certificate-identity or --certificate-identity-regexp, not both');
  }
  if (exact === undefined && pattern === undefined) {
    throw new UsageError('--certificate-oidc-issuer needs --certificate-identity or --certificate-identity-regexp');
  }
  if (issuer === undefined) throw new UsageError('a certificate identity needs --certificate-oidc-issuer URL');
  if (pattern !== undefined) {
    if (pattern.length > 1024) throw new UsageError('--certificate-identity-regexp is over 1024 characters');
    try {
      return { identity: new RegExp(pattern), issuer };
    } catch (err) {
      throw new UsageError(`--certificate-identity-regexp: ${(err as Error).message}`);
    }
  }
  return { identity: exact!, issuer };
}

async function loadTrustedRoot(spec: string, home: string): Promise<TrustedRootJson> {
  if (spec === 'public-good') {
    // A root refreshed with `warrant trusted-root update` wins over the one pinned in the package.
    const refreshed = await readFile(publicGoodRootPath(home), 'utf8').catch(() => undefined);
    return refreshed !== undefined ? parseTrustedRoot(refreshed, publicGoodRootPath(home)) : publicGoodTrustedRoot();
  }
  const text = await readInput(spec, 'trusted root', 16 * 1024 * 1024);
  return parseTrustedRoot(text.toString('utf8'), `trusted root ${spec}`);
}

/** Message-signature bundles sign the artifact bytes themselves; the library needs them. */
async function messageArtifact(paths: string[], artifacts: ArtifactDigests[]) {
  if (paths.length !== 1) return { artifacts };
  const bytes = await readInput(paths[0]!, 'artifact', MAX_MESSAGE_ARTIFACT_BYTES).catch(() => undefined);
  return bytes === undefined ? { artifacts } : { artifacts, messageArtifact: bytes };
}

function report(result: VerificationResult, json: boolean, io: Io): void {
  if (json) {
    io.out(
      JSON.stringify(
        {
          ok: result.ok,
          code: result.code,
          message: result.message,
          signer: result.ok ? result.signer : null,
          statement: result.ok ? (result.statement ?? null) : null,
        },
        null,
        2,
      ),
    );
    return;
  }
  if (!result.ok) {
    io.err(`FAIL ${result.code}: ${result.message}`);
    return;
  }
  io.out(`OK: ${result.message}`);
  if (result.statement) {
    io.out(`predicateType: ${result.statement.predicateType}`);
    for (const s of result.statement.subject) {
      io.out(`subject: ${s.name} ${Object.entries(s.digest).map(([a, h]) => `${a}:${h}`).join(' ')}`);
    }
  }
}

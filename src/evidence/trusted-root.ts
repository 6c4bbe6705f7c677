import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { getTrustedRoot } from '@sigstore/tuf';
import { InputError } from './errors.ts';
import { isPlainObject } from './json.ts';

/** Sigstore trusted root (protobuf-JSON, `dev.sigstore.trustedroot.v0.1`) as plain data. */
export type TrustedRootJson = Record<string, unknown>;

export const PUBLIC_GOOD_TUF_MIRROR = 'https://tuf-repo-cdn.sigstore.dev';

/**
 * The public-good trusted root that sigstore-js pins in its TUF seeds. Read
 * from the installed package, so the pin moves only when the dependency does
 * and verification never needs the network.
 */
export function publicGoodTrustedRoot(): TrustedRootJson {
  const require = createRequire(import.meta.url);
  const seeds = JSON.parse(readFileSync(require.resolve('@sigstore/tuf/seeds.json'), 'utf8')) as Record<
    string,
    { targets?: Record<string, string> }
  >;
  const encoded = seeds[PUBLIC_GOOD_TUF_MIRROR]?.targets?.['trusted_root.json'];
  if (encoded === undefined) throw new Error('@sigstore/tuf seeds carry no public-good trusted_root.json');
  return parseTrustedRoot(Buffer.from(encoded, 'base64').toString('utf8'), 'pinned public-good trusted root');
}

export function parseTrustedRoot(text: string, source: string): TrustedRootJson {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InputError('TRUSTED_ROOT_INVALID', `${source} is not JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(value) || !String(value.mediaType ?? '').startsWith('application/vnd.dev.sigstore.trustedroot')) {
    throw new InputError('TRUSTED_ROOT_INVALID', `${source} is not a Sigstore trusted root (mediaType trustedroot)`);
  }
  return value;
}

/**
 * Fetches the current trusted root over TUF (root-of-trust walk, signature and
 * expiry checks by @sigstore/tuf). Needs the network; callers treat a failure
 * as indeterminate, not as a verdict.
 */
export async function fetchTrustedRoot(options: {
  cachePath: string;
  mirrorURL?: string;
  timeoutMs?: number;
}): Promise<TrustedRootJson> {
  const root = await getTrustedRoot({
    cachePath: options.cachePath,
    mirrorURL: options.mirrorURL ?? PUBLIC_GOOD_TUF_MIRROR,
    retry: false,
    timeout: options.timeoutMs ?? 15_000,
  });
  return TrustedRoot.toJSON(root) as TrustedRootJson;
}

import type { KeyRing } from '../../evidence/index.ts';
import { loadPolicyBundle, type LoadedPolicyBundle } from './bundle.ts';
import { PolicyVersionError } from './errors.ts';
import { verifyRollbackStatement } from './rollback.ts';
import { bundlePath, readActive, readBundleFile, writeActive, type ActivePolicy } from './store.ts';

export interface Activation {
  active: ActivePolicy;
  previous: ActivePolicy | undefined;
  bundle: LoadedPolicyBundle;
  /** Present when the activation went back to a lower version. */
  rollback: { reason: string; signer: string } | undefined;
}

/**
 * Makes a published version the active one. The bundle must verify; a version
 * below the active one is refused unless a signed rollback statement names
 * this exact move (anti-rollback: an attacker who can write files cannot
 * bring back an old, weaker policy).
 */
export async function activatePolicy(
  home: string,
  keys: KeyRing,
  version: number,
  options: { rollbackStatement?: string | Uint8Array; now?: Date } = {},
): Promise<Activation> {
  const bundle = loadPolicyBundle(await readBundleFile(home, version), keys);
  if (bundle.version !== version) {
    throw new PolicyVersionError('POLICY_BUNDLE_INVALID', `${bundlePath(home, version)} holds version ${bundle.version}, not ${version}`);
  }
  const previous = await readActive(home);
  let rollback: Activation['rollback'];
  if (previous !== undefined && version < previous.version) {
    if (options.rollbackStatement === undefined) {
      throw new PolicyVersionError(
        'ROLLBACK_REFUSED',
        `v${version} is below the active v${previous.version}: a rollback needs a signed rollback statement naming it`,
      );
    }
    rollback = verifyRollbackStatement(options.rollbackStatement, keys, { from: previous.version, to: version, digest: bundle.digest });
  } else if (previous !== undefined && version === previous.version && bundle.digest !== previous.digest) {
    throw new PolicyVersionError('POLICY_BUNDLE_INVALID', `v${version} now has digest ${bundle.digest}, but ${previous.digest} was activated`);
  }
  const active = { version, digest: bundle.digest, activatedAt: (options.now ?? new Date()).toISOString() };
  await writeActive(home, active);
  return { active, previous, bundle, rollback };
}

/** The active bundle, verified, and checked to be the very content that was activated. */
export async function loadActivePolicy(home: string, keys: KeyRing): Promise<LoadedPolicyBundle> {
  const active = await readActive(home);
  if (active === undefined) throw new PolicyVersionError('POLICY_BUNDLE_NOT_FOUND', `no active policy: activate one with 'warrant policy activate VERSION'`);
  const bundle = loadPolicyBundle(await readBundleFile(home, active.version), keys);
  if (bundle.version !== active.version || bundle.digest !== active.digest) {
    throw new PolicyVersionError(
      'POLICY_BUNDLE_INVALID',
      `the bundle file for active v${active.version} holds v${bundle.version} ${bundle.digest}, not the activated ${active.digest}`,
    );
  }
  return bundle;
}

/** A bundle given explicitly to a gate: verified, and refused when older than the active version. */
export async function loadGateBundle(home: string, bytes: string | Uint8Array, keys: KeyRing): Promise<LoadedPolicyBundle> {
  const bundle = loadPolicyBundle(bytes, keys);
  const active = await readActive(home);
  if (active !== undefined && bundle.version < active.version) {
    throw new PolicyVersionError('ROLLBACK_REFUSED', `bundle v${bundle.version} is below the active v${active.version}`);
  }
  return bundle;
}

// Signed, versioned policy bundles: publish, verify, activate, and refuse rollback.
export { activatePolicy, loadActivePolicy, loadGateBundle, type Activation } from './activate.ts';
export {
  buildPolicyBundle,
  filesDigest,
  loadPolicyBundle,
  POLICY_BUNDLE_PREDICATE,
  POLICY_BUNDLE_SUBJECT,
  type LoadedPolicyBundle,
  type PolicyBundleFile,
} from './bundle.ts';
export { PolicyVersionError, type PolicyVersionErrorCode } from './errors.ts';
export { buildRollbackStatement, POLICY_ROLLBACK_PREDICATE, verifyRollbackStatement, type RollbackClaim } from './rollback.ts';
export {
  bundlePath,
  bundlesDir,
  nextVersion,
  policyDir,
  publishedVersions,
  readActive,
  readBundleFile,
  writeActive,
  writeAtomic,
  type ActivePolicy,
} from './store.ts';

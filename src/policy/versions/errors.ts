/** Stable codes for policy bundles, activation and rollback; printed by the CLI and asserted by tests. */
export type PolicyVersionErrorCode =
  /** The bundle's signature does not verify against the trusted keys (unsigned, untrusted, tampered). */
  | 'POLICY_BUNDLE_UNVERIFIED'
  /** The bundle is signed but its content does not match its own digests, or is not a policy bundle. */
  | 'POLICY_BUNDLE_INVALID'
  /** No published bundle with that version, or no active version. */
  | 'POLICY_BUNDLE_NOT_FOUND'
  /** A version lower than the active one, without a signed rollback statement that names it. */
  | 'ROLLBACK_REFUSED'
  /** A rollback statement that is unsigned, untrusted, or names another target, digest or origin. */
  | 'ROLLBACK_STATEMENT_INVALID'
  /** A requested version that is not a positive integer above the highest published one. */
  | 'VERSION_INVALID';

export class PolicyVersionError extends Error {
  readonly code: PolicyVersionErrorCode;
  constructor(code: PolicyVersionErrorCode, message: string) {
    super(message);
    this.name = 'PolicyVersionError';
    this.code = code;
  }
}

/** Stable codes for policy exceptions. */
export type PolicyExceptionErrorCode =
  /** The exception asked for is not acceptable: no owner, no reason, expiry in the past or too far. */
  | 'EXCEPTION_INVALID'
  /** A stored exception does not verify against the trusted keys, or is not an exception. */
  | 'EXCEPTION_UNVERIFIED';

export class PolicyExceptionError extends Error {
  readonly code: PolicyExceptionErrorCode;
  constructor(code: PolicyExceptionErrorCode, message: string) {
    super(message);
    this.name = 'PolicyExceptionError';
    this.code = code;
  }
}

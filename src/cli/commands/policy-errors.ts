import { PolicyExceptionError, PolicyVersionError } from '../../policy/index.ts';
import { Exit, UsageError, type ExitCode, type Io } from '../io.ts';

/**
 * Exit codes for policy bundle and exception errors: a request that cannot be
 * right as asked is a usage error (2); a refusal on the evidence (unverified
 * bundle, rollback, bad statement) is a denial (1). Anything else is rethrown.
 */
export function policyErrorExit(err: unknown, io: Io): ExitCode {
  if (err instanceof PolicyVersionError) {
    io.err(`warrant: ${err.code}: ${err.message}`);
    return err.code === 'VERSION_INVALID' || err.code === 'POLICY_BUNDLE_NOT_FOUND' ? Exit.USAGE : Exit.DENIED;
  }
  if (err instanceof PolicyExceptionError) {
    io.err(`warrant: ${err.code}: ${err.message}`);
    return err.code === 'EXCEPTION_INVALID' ? Exit.USAGE : Exit.DENIED;
  }
  throw err;
}

/** Who ran a command, for audit events: the signing key when there is one, else the OS user. */
export function actor(io: Io, keyId?: string): string {
  return keyId !== undefined ? `key:${keyId}` : `user:${io.env.USER || io.env.USERNAME || 'unknown'}`;
}

/** A positive decimal integer argument. */
export function versionArg(value: string | undefined, name: string): number {
  if (value === undefined || !/^[1-9][0-9]{0,14}$/.test(value)) throw new UsageError(`${name} must be a positive integer`);
  return Number(value);
}

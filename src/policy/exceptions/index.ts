// Policy exceptions: signed, owned, expiring waivers of one policy for named artifacts.
export { applyExceptions, exceptionFor, type ExceptedResult } from './apply.ts';
export { PolicyExceptionError, type PolicyExceptionErrorCode } from './errors.ts';
export {
  buildException,
  isActive,
  MAX_EXCEPTION_DAYS,
  POLICY_EXCEPTION_PREDICATE,
  verifyException,
  type ExceptionRequest,
  type PolicyException,
} from './exception.ts';
export { activeExceptions, countActiveExceptions, exceptionsDir, loadExceptions, saveException, type StoredExceptions } from './store.ts';

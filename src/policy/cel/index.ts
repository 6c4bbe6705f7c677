/**
 * CEL for warrant policies: @bufbuild/cel with the Kubernetes extension
 * libraries, a cached RE2, structural compile limits, positioned errors and
 * JSON conversion. Evaluation has no step budget; callers that evaluate
 * untrusted expressions on untrusted input still need a time bound (a worker
 * with a deadline), as the research notes.
 */
export { createCelEnvironment, type CelEnvironmentOptions } from './environment.ts';
export {
  compileExpression,
  DEFAULT_COMPILE_LIMITS,
  type CompileLimits,
  type CompileOptions,
  type CompiledExpression,
  type CelEvalResult,
} from './compile.ts';
export { CelCompileError, CelEvalError, CelErrorCode, type CelCompileErrorCode, type CelEvalErrorCode } from './errors.ts';
export { toCelValue, fromCelValue, type JsonValue } from './json.ts';
export { DEFAULT_MAX_REGEX_LENGTH, DEFAULT_REGEX_CACHE_SIZE } from './regex-cache.ts';

import { isCelError, parse, plan, type CelEnv, type CelError, type CelInput, type CelValue } from '@bufbuild/cel';
import { CelCompileError, CelErrorCode, CelEvalError, type CelCompileErrorCode } from './errors.ts';
import { createCelEnvironment } from './environment.ts';
import { INTERNAL_TYPE_NAMES } from './k8s-types.ts';
import { positionAt } from './source.ts';

type ParsedExpr = ReturnType<typeof parse>;
type Expr = ParsedExpr['expr'];

/** Structural limits checked before an expression is planned. */
export interface CompileLimits {
  /** Longest accepted source, in UTF-16 units. */
  readonly maxLength: number;
  /** Most AST nodes (after macro expansion). */
  readonly maxAstNodes: number;
  /** Deepest AST nesting, and deepest bracket nesting in the source. */
  readonly maxDepth: number;
}

/**
 * Defaults sized for admission policies, with headroom below the depth at
 * which the library's recursive parser and planner exhaust the stack (~500).
 */
export const DEFAULT_COMPILE_LIMITS: CompileLimits = { maxLength: 16_384, maxAstNodes: 10_000, maxDepth: 128 };

export interface CompileOptions extends Partial<CompileLimits> {
  /** The environment to plan against. Default: a shared `createCelEnvironment()`. */
  readonly env?: CelEnv;
  /**
   * Declared variable names (dotted names such as `a.b` allowed). When given,
   * any other free identifier is a CEL_UNDECLARED compile error, reported at
   * its position, instead of an evaluation-time "unresolved attribute".
   */
  readonly variables?: readonly string[];
}

export type CelEvalResult = { readonly ok: true; readonly value: CelValue } | { readonly ok: false; readonly error: CelEvalError };

export interface CompiledExpression {
  readonly source: string;
  /** Evaluates against variable bindings (see toCelValue for JSON input). Never throws. */
  evaluate(bindings?: Readonly<Record<string, CelInput>>): CelEvalResult;
}

let defaultEnv: CelEnv | undefined;

// Identifiers that name types, so they are never "undeclared variables".
const TYPE_IDENTS = new Set(['bool', 'bytes', 'double', 'dyn', 'int', 'list', 'map', 'null_type', 'string', 'type', 'uint', 'google', 'net', 'kubernetes']);
// Macros the parser expands; a call left with one of these names was malformed.
const RECEIVER_MACROS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/** Parses, checks and plans an expression. Throws CelCompileError. */
export function compileExpression(source: string, options: CompileOptions = {}): CompiledExpression {
  const limits: CompileLimits = {
    maxLength: options.maxLength ?? DEFAULT_COMPILE_LIMITS.maxLength,
    maxAstNodes: options.maxAstNodes ?? DEFAULT_COMPILE_LIMITS.maxAstNodes,
    maxDepth: options.maxDepth ?? DEFAULT_COMPILE_LIMITS.maxDepth,
  };
  const env = options.env ?? (defaultEnv ??= createCelEnvironment());
  if (source.length > limits.maxLength) {
    throw new CelCompileError(CelErrorCode.LIMIT, `expression is ${source.length} characters, over the limit of ${limits.maxLength}`, source, limits.maxLength);
  }
  // The parser recurses per bracket level; refuse deep nesting before it can exhaust the stack.
  const deep = firstTooDeepBracket(source, limits.maxDepth);
  if (deep >= 0) {
    throw new CelCompileError(CelErrorCode.LIMIT, `expression nesting is deeper than the limit of ${limits.maxDepth}`, source, deep);
  }
  const parsed = parseSource(source);
  const info = checkAst(parsed, source, limits, options.variables, env);
  let program: ReturnType<typeof plan>;
  try {
    program = plan(env, parsed);
  } catch (e) {
    // The planner recurses too; only reachable when maxDepth is raised far above the default.
    if (isStackOverflow(e)) throw new CelCompileError(CelErrorCode.LIMIT, 'expression is nested too deeply to plan', source, 0, { cause: e });
    throw compileFailure(CelErrorCode.INVALID, e, source, 0);
  }
  return new Compiled(source, program, parsed.sourceInfo?.positions ?? {}, info.names);
}

function parseSource(source: string): ParsedExpr {
  try {
    return parse(source);
  } catch (e) {
    if (isStackOverflow(e)) {
      throw new CelCompileError(CelErrorCode.LIMIT, 'expression is nested too deeply to parse', source, 0, { cause: e });
    }
    const { error, offset } = refineSyntaxError(source, e);
    throw compileFailure(CelErrorCode.SYNTAX, error, source, offset);
  }
}

function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && /call stack/i.test(e.message);
}

function errorOffset(e: unknown): number | undefined {
  const loc = (e as { location?: { start?: { offset?: unknown } } }).location?.start?.offset;
  return typeof loc === 'number' ? loc : undefined;
}

const OPERATORS = ['||', '&&', '==', '!=', '<=', '>=', '<', '>', '+', '-', '*', '/', '%', '?', ':', '.', 'in'];

/**
 * The parser reports "found <operator> but expecting end of input" at the
 * operator whose right-hand side failed, e.g. at `<=` in `a <= `. Re-parsing
 * what follows the operator finds the real culprit (here: the end of input).
 * A heuristic for the message position only; the expression is refused either way.
 */
function refineSyntaxError(source: string, first: unknown): { error: unknown; offset: number } {
  let error = first;
  let offset = errorOffset(first) ?? 0;
  for (let round = 0; round < 8; round++) {
    const raw = (error as { rawMessage?: unknown }).rawMessage;
    if (typeof raw !== 'string' || !raw.endsWith('but expecting end of input')) break;
    const op = OPERATORS.find((o) => source.startsWith(o, offset));
    if (op === undefined) break;
    const rest = offset + op.length;
    try {
      parse(source.slice(rest));
      break;
    } catch (e) {
      const inner = errorOffset(e);
      if (inner === undefined) break;
      error = e;
      offset = rest + inner;
    }
  }
  return { error, offset };
}

function compileFailure(code: CelCompileErrorCode, e: unknown, source: string, offset: number): CelCompileError {
  const raw = (e as { rawMessage?: unknown }).rawMessage;
  // The parser prefixes "<input>:line:col: "; positions are carried separately.
  let message = typeof raw === 'string' ? raw : e instanceof Error ? e.message : String(e);
  const m = /^found (.*) but expecting (.*)$/s.exec(message);
  if (m !== null) {
    // The full list of expected token classes is noise; keep it only when short.
    const expected = m[2] as string;
    const alternatives = expected.split(/, (?:or )?| or /).length;
    message = alternatives <= 3 ? `syntax error: unexpected ${m[1]}, expecting ${expected}` : `syntax error: unexpected ${m[1]}`;
  } else if (code === CelErrorCode.SYNTAX) {
    message = `syntax error: ${message}`;
  }
  return new CelCompileError(code, message, source, offset, { cause: e });
}

/**
 * Offset of the first bracket opening a level deeper than `max`, or -1.
 * String literals (quoted, triple-quoted, raw) and comments are skipped, so
 * brackets inside them do not count.
 */
export function firstTooDeepBracket(source: string, max: number): number {
  let depth = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '/' && source[i + 1] === '/') {
      while (i < source.length && source[i] !== '\n') i++;
    } else if (c === '"' || c === "'") {
      i = skipString(source, i);
    } else if (c === '(' || c === '[' || c === '{') {
      if (++depth > max) return i;
    } else if (c === ')' || c === ']' || c === '}') {
      depth = Math.max(0, depth - 1);
    }
  }
  return -1;
}

function isIdentChar(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_]/.test(c);
}

/** Index of the last character of the string literal starting at quote `start`. */
function skipString(source: string, start: number): number {
  const q = source[start] as string;
  // A raw prefix (r, R, optionally with b/B on either side) turns escapes off.
  let p = start - 1;
  let raw = false;
  while (p >= 0 && p >= start - 2 && /[rRbB]/.test(source[p] as string)) {
    if (/[rR]/.test(source[p] as string)) raw = true;
    p--;
  }
  if (raw && isIdentChar(source[p])) raw = false;
  const triple = source[start + 1] === q && source[start + 2] === q;
  let i = start + (triple ? 3 : 1);
  for (; i < source.length; i++) {
    const c = source[i];
    if (c === '\\' && !raw) {
      i++;
    } else if (triple ? c === q && source[i + 1] === q && source[i + 2] === q : c === q) {
      return triple ? i + 2 : i;
    } else if (!triple && c === '\n') {
      return i;
    }
  }
  return source.length;
}

interface AstInfo {
  /** Expression id → identifier or field name, to name the culprit in "unresolved attribute" errors. */
  readonly names: Map<number, string>;
}

interface Scope {
  readonly name: string;
  readonly parent: Scope | undefined;
}

function inScope(scope: Scope | undefined, name: string): boolean {
  for (let s = scope; s !== undefined; s = s.parent) if (s.name === name) return true;
  return false;
}

/** The dotted name of an ident/select chain (`a.b.c`), or undefined. */
function qualifiedName(e: Expr): string | undefined {
  const parts: string[] = [];
  let cur: Expr | undefined = e;
  while (cur !== undefined) {
    const k: Expr['exprKind'] = cur.exprKind;
    if (k.case === 'identExpr') {
      parts.unshift(k.value.name);
      return parts.join('.');
    }
    if (k.case !== 'selectExpr' || k.value.testOnly) return undefined;
    parts.unshift(k.value.field);
    cur = k.value.operand;
  }
  return undefined;
}

/**
 * Walks the AST iteratively (it may be deep; recursion could overflow),
 * enforcing the node and depth limits and the checks the library skips:
 * int literal ranges, malformed macros, forged Kubernetes object literals
 * and, when declared, undeclared variables.
 */
function checkAst(parsed: ParsedExpr, source: string, limits: CompileLimits, variables: readonly string[] | undefined, env: CelEnv): AstInfo {
  const positions = parsed.sourceInfo?.positions ?? {};
  const offsetOf = (e: Expr): number => positions[String(e.id)] ?? 0;
  const fail = (code: CelCompileErrorCode, message: string, e: Expr): never => {
    throw new CelCompileError(code, message, source, offsetOf(e));
  };
  const declared = variables === undefined ? undefined : new Set(variables);
  const declaredRoots = new Set((variables ?? []).map((v) => v.split('.')[0] as string));
  const names = new Map<number, string>();
  const stack: Array<{ e: Expr; depth: number; scope: Scope | undefined }> = [{ e: parsed.expr, depth: 1, scope: undefined }];
  let nodes = 0;
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { e, depth, scope } = item;
    if (++nodes > limits.maxAstNodes) fail(CelErrorCode.LIMIT, `expression has more than ${limits.maxAstNodes} nodes`, e);
    if (depth > limits.maxDepth) fail(CelErrorCode.LIMIT, `expression nesting is deeper than the limit of ${limits.maxDepth}`, e);
    const push = (child: Expr | undefined, s: Scope | undefined = scope): void => {
      if (child !== undefined) stack.push({ e: child, depth: depth + 1, scope: s });
    };
    const k = e.exprKind;
    switch (k.case) {
      case 'constExpr': {
        const c = k.value.constantKind;
        if (c.case === 'int64Value' && (c.value < INT64_MIN || c.value > INT64_MAX)) fail(CelErrorCode.SYNTAX, 'integer literal out of range', e);
        if (c.case === 'uint64Value' && (c.value < 0n || c.value > UINT64_MAX)) fail(CelErrorCode.SYNTAX, 'unsigned integer literal out of range', e);
        break;
      }
      case 'identExpr': {
        const name = k.value.name;
        names.set(Number(e.id), name);
        if (declared !== undefined && !inScope(scope, name) && !declared.has(name) && !declaredRoots.has(name) && !TYPE_IDENTS.has(name)) {
          fail(CelErrorCode.UNDECLARED, `undeclared reference to '${name}'`, e);
        }
        break;
      }
      case 'selectExpr':
        names.set(Number(e.id), k.value.field);
        push(k.value.operand);
        break;
      case 'callExpr': {
        const { function: fn, target, args } = k.value;
        if (target === undefined && fn === 'has') fail(CelErrorCode.SYNTAX, 'invalid argument to has() macro', e);
        if (target !== undefined && RECEIVER_MACROS.has(fn) && (args.length === 2 || (fn === 'map' && args.length === 3))) {
          fail(CelErrorCode.SYNTAX, `${fn}() macro: argument must be a simple name`, args[0] ?? e);
        }
        // `ip.isCanonical(...)` is a namespaced function, not a method on a variable `ip`.
        const qualified = target === undefined ? undefined : qualifiedName(target);
        if (qualified === undefined || env.funcs.find(`${qualified}.${fn}`) === undefined) push(target);
        for (const a of args) push(a);
        break;
      }
      case 'listExpr':
        for (const el of k.value.elements) push(el);
        break;
      case 'structExpr': {
        if (INTERNAL_TYPE_NAMES.has(k.value.messageName)) {
          fail(CelErrorCode.INVALID, `${k.value.messageName} values can only be created by their conversion function`, e);
        }
        // The library accepts some repeated literal keys ({0: 1, 0u: 2}); CEL makes them an error.
        const seen = new Set<string>();
        for (const entry of k.value.entries) {
          if (entry.keyKind.case === 'mapKey') {
            const key = constantKey(entry.keyKind.value);
            if (key !== undefined && seen.has(key)) fail(CelErrorCode.INVALID, 'repeated key in map literal', entry.keyKind.value);
            if (key !== undefined) seen.add(key);
            push(entry.keyKind.value);
          }
          push(entry.value);
        }
        break;
      }
      case 'comprehensionExpr': {
        const c = k.value;
        // Range and initial value see the outer scope; the loop sees the iteration variables too.
        const accu: Scope = { name: c.accuVar, parent: scope };
        const iter: Scope = { name: c.iterVar, parent: accu };
        const loop: Scope = c.iterVar2 === '' ? iter : { name: c.iterVar2, parent: iter };
        push(c.iterRange);
        push(c.accuInit);
        push(c.loopCondition, loop);
        push(c.loopStep, loop);
        push(c.result, accu);
        break;
      }
      default:
        break;
    }
  }
  return { names };
}

/** Identity of a constant map key under CEL equality (1 == 1u == 1.0), or undefined if not constant. */
function constantKey(e: Expr): string | undefined {
  if (e.exprKind.case !== 'constExpr') return undefined;
  const c = e.exprKind.value.constantKind;
  switch (c.case) {
    case 'int64Value':
    case 'uint64Value':
      return `n:${c.value}`;
    case 'doubleValue':
      return Number.isInteger(c.value) ? `n:${BigInt(c.value)}` : `d:${c.value}`;
    case 'stringValue':
      return `s:${c.value}`;
    case 'boolValue':
      return `b:${c.value}`;
    default:
      return undefined;
  }
}

class Compiled implements CompiledExpression {
  readonly source: string;
  readonly #program: ReturnType<typeof plan>;
  readonly #positions: Readonly<Record<string, number>>;
  readonly #names: Map<number, string>;

  constructor(source: string, program: ReturnType<typeof plan>, positions: Readonly<Record<string, number>>, names: Map<number, string>) {
    this.source = source;
    this.#program = program;
    this.#positions = positions;
    this.#names = names;
  }

  evaluate(bindings: Readonly<Record<string, CelInput>> = {}): CelEvalResult {
    let result: ReturnType<ReturnType<typeof plan>>;
    try {
      result = this.#program(bindings as Record<string, CelInput>);
    } catch (e) {
      const message = isStackOverflow(e) ? 'evaluation is nested too deeply' : e instanceof Error ? e.message : String(e);
      return { ok: false, error: new CelEvalError(CelErrorCode.INTERNAL, message, this.source, undefined, undefined, { cause: e }) };
    }
    if (isCelError(result)) return { ok: false, error: this.#evalError(result) };
    return { ok: true, value: result };
  }

  #evalError(err: CelError): CelEvalError {
    const id = err.exprId === undefined ? undefined : Number(err.exprId);
    const offset = id === undefined ? undefined : this.#positions[String(id)];
    let message = err.message;
    const name = id === undefined ? undefined : this.#names.get(id);
    // The library does not say which name failed to resolve.
    if (message === 'unresolved attribute' && name !== undefined) message = `unresolved attribute '${name}'`;
    const position = offset === undefined ? undefined : positionAt(this.source, offset);
    return new CelEvalError(CelErrorCode.EVAL, message, this.source, position, id, { cause: err });
  }
}

import { positionAt, renderCaret, type SourcePosition } from './source.ts';

/**
 * Stable error codes of the CEL layer. Callers and tests branch on them, so a
 * code is never renamed; new ones may be added.
 */
export const CelErrorCode = {
  /** The expression does not parse, or uses a macro or literal the way CEL forbids. */
  SYNTAX: 'CEL_SYNTAX',
  /** The expression is longer, larger or deeper than the configured limits. */
  LIMIT: 'CEL_LIMIT',
  /** The expression names a variable that was not declared. */
  UNDECLARED: 'CEL_UNDECLARED',
  /** The expression parses but cannot be planned (for example a forbidden message literal). */
  INVALID: 'CEL_INVALID',
  /** Evaluation produced a CEL error (no such key, no matching overload, overflow, ...). */
  EVAL: 'CEL_EVAL',
  /** Evaluation threw instead of returning a CEL error (a library defect or a stack overflow). */
  INTERNAL: 'CEL_INTERNAL',
} as const;

export type CelCompileErrorCode =
  | typeof CelErrorCode.SYNTAX
  | typeof CelErrorCode.LIMIT
  | typeof CelErrorCode.UNDECLARED
  | typeof CelErrorCode.INVALID;

export type CelEvalErrorCode = typeof CelErrorCode.EVAL | typeof CelErrorCode.INTERNAL;

/** An expression that was refused before evaluation. Positions are within the expression. */
export class CelCompileError extends Error {
  readonly code: CelCompileErrorCode;
  /** 1-based line of the offending token. */
  readonly line: number;
  /** 1-based column (code points) of the offending token. */
  readonly column: number;
  /** 0-based UTF-16 offset of the offending token. */
  readonly offset: number;
  readonly source: string;

  constructor(code: CelCompileErrorCode, message: string, source: string, offset: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CelCompileError';
    this.code = code;
    this.source = source;
    const pos = positionAt(source, offset);
    this.line = pos.line;
    this.column = pos.column;
    this.offset = pos.offset;
  }

  /** The offending source line with a caret under the column. */
  caret(): string {
    return renderCaret(this.source, { offset: this.offset, line: this.line, column: this.column });
  }
}

/**
 * An evaluation failure. The position is known when the library reports the
 * failing sub-expression (most errors); a few arithmetic errors carry none.
 */
export class CelEvalError extends Error {
  readonly code: CelEvalErrorCode;
  readonly exprId: number | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly offset: number | undefined;
  readonly source: string;

  constructor(
    code: CelEvalErrorCode,
    message: string,
    source: string,
    position: SourcePosition | undefined,
    exprId: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CelEvalError';
    this.code = code;
    this.source = source;
    this.exprId = exprId;
    this.line = position?.line;
    this.column = position?.column;
    this.offset = position?.offset;
  }

  /** The failing source line with a caret under the column, or '' when the position is unknown. */
  caret(): string {
    if (this.offset === undefined || this.line === undefined || this.column === undefined) return '';
    return renderCaret(this.source, { offset: this.offset, line: this.line, column: this.column });
  }
}

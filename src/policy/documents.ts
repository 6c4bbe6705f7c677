import { LineCounter, parseAllDocuments, type Document } from 'yaml';

/** Bounds on policy, input and test files. */
export interface DocumentLimits {
  maxBytes: number;
  maxDocuments: number;
  maxAliases: number;
}

export const DEFAULT_DOCUMENT_LIMITS: DocumentLimits = {
  maxBytes: 4 * 1024 * 1024,
  maxDocuments: 1000,
  maxAliases: 100,
};

export type PolicyErrorCode =
  | 'DOCUMENT_INVALID'
  | 'LIMIT_EXCEEDED'
  | 'POLICY_INVALID'
  | 'EXPRESSION_INVALID'
  | 'UNSUPPORTED';

export interface SourceLocation {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

/** A policy or input that cannot be loaded: where, why, and the offending line with a caret. */
export class PolicyError extends Error {
  readonly code: PolicyErrorCode;
  readonly at: SourceLocation | undefined;
  readonly excerpt: string | undefined;
  constructor(code: PolicyErrorCode, message: string, at?: SourceLocation, excerpt?: string) {
    super(message);
    this.name = 'PolicyError';
    this.code = code;
    this.at = at;
    this.excerpt = excerpt;
  }

  /** `file:line:column: message` then the source line and a caret under the column. */
  render(): string {
    const where = this.at ? `${this.at.file}:${this.at.line}:${this.at.column}: ` : '';
    return this.excerpt ? `${where}${this.message}\n${this.excerpt}` : `${where}${this.message}`;
  }
}

/** One YAML or JSON document with what is needed to point into its source. */
export interface SourceDocument {
  file: string;
  text: string;
  value: unknown;
  doc: Document.Parsed;
  lines: LineCounter;
}

/**
 * Parses YAML (multi-document) or JSON under size, count and alias limits.
 * YAML 1.2 core schema: no custom tags, no merge keys, so a file means what it
 * says; an alias bomb is refused by the alias limit.
 */
export function parseDocuments(text: string, file: string, limits: DocumentLimits = DEFAULT_DOCUMENT_LIMITS): SourceDocument[] {
  if (Buffer.byteLength(text) > limits.maxBytes) {
    throw new PolicyError('LIMIT_EXCEEDED', `${file} is over the limit of ${limits.maxBytes} bytes`);
  }
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, merge: false });
  if (!Array.isArray(docs)) return [];
  if (docs.length > limits.maxDocuments) {
    throw new PolicyError('LIMIT_EXCEEDED', `${file} has ${docs.length} documents, over the limit of ${limits.maxDocuments}`);
  }
  const out: SourceDocument[] = [];
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error !== undefined) {
      const pos = lines.linePos(error.pos[0]);
      throw new PolicyError('DOCUMENT_INVALID', `not valid YAML: ${error.message.split('\n')[0]}`, { file, ...linePos(pos) }, excerpt(text, pos.line, pos.col));
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: limits.maxAliases });
    } catch (err) {
      throw new PolicyError('LIMIT_EXCEEDED', `${file}: ${(err as Error).message}`);
    }
    if (value === null || value === undefined) continue;
    out.push({ file, text, value, doc, lines });
  }
  return out;
}

function linePos(p: { line: number; col: number }): { line: number; column: number } {
  return { line: p.line, column: p.col };
}

/** The source line and a caret under `column` (both 1-based). */
export function excerpt(text: string, line: number, column: number): string {
  const source = text.split('\n')[line - 1] ?? '';
  return `${source}\n${' '.repeat(Math.max(0, column - 1))}^`;
}

/** Where the scalar at `path` starts in the file, for error messages. */
export function locate(source: SourceDocument, path: (string | number)[]): SourceLocation {
  const node = source.doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
  const offset = node?.range?.[0] ?? 0;
  const pos = source.lines.linePos(offset);
  return { file: source.file, line: pos.line, column: pos.col };
}

/**
 * Maps a position inside an expression string (1-based line and column of the
 * expression) to the file, by finding that expression line in the source after
 * the scalar's start. Exact for plain, quoted and block scalars without escapes.
 */
export function locateInScalar(
  source: SourceDocument,
  path: (string | number)[],
  expression: string,
  line: number,
  column: number,
): { at: SourceLocation; excerpt: string } {
  const start = locate(source, path);
  const exprLine = expression.split('\n')[line - 1] ?? '';
  const fileLines = source.text.split('\n');
  for (let i = start.line - 1; i < fileLines.length && exprLine !== ''; i++) {
    const from = i === start.line - 1 ? start.column - 1 : 0;
    const at = fileLines[i]!.indexOf(exprLine.trim(), from);
    if (at >= 0) {
      const lead = exprLine.length - exprLine.trimStart().length;
      const col = at + 1 + Math.max(0, column - 1 - lead);
      return { at: { file: source.file, line: i + 1, column: col }, excerpt: excerpt(source.text, i + 1, col) };
    }
  }
  return { at: start, excerpt: excerpt(source.text, start.line, start.column) };
}

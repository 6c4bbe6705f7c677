/**
 * Positions inside a CEL expression's source text: offset → line/column and
 * the caret rendering used by compile and evaluation errors.
 */

export interface SourcePosition {
  /** 0-based UTF-16 offset into the expression, as the parser reports it. */
  readonly offset: number;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column, counted in code points so astral characters count once. */
  readonly column: number;
}

/** Resolves a UTF-16 offset to a 1-based line and code-point column. */
export function positionAt(source: string, offset: number): SourcePosition {
  const clamped = Math.max(0, Math.min(offset, source.length));
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < clamped; i++) {
    const c = source.charCodeAt(i);
    if (c === 0x0a || (c === 0x0d && source.charCodeAt(i + 1) !== 0x0a)) {
      line++;
      lineStart = i + 1;
    }
  }
  return { offset: clamped, line, column: codePointLength(source.slice(lineStart, clamped)) + 1 };
}

// Long single-line expressions would make the caret block unreadable; show a window around the column.
const WINDOW = 100;

/**
 * Renders the line holding `position` with a caret under its column:
 *
 *     object.spec.replicas <=
 *                          ^
 */
export function renderCaret(source: string, position: SourcePosition | undefined): string {
  if (position === undefined) return '';
  const lines = source.split(/\r\n|\r|\n/);
  const text = lines[position.line - 1] ?? '';
  const chars = Array.from(text);
  let from = 0;
  let col = position.column - 1;
  if (chars.length > WINDOW) {
    from = Math.max(0, Math.min(col - WINDOW / 2, chars.length - WINDOW));
    col -= from;
  }
  const shown = chars.slice(from, from + WINDOW);
  const prefix = from > 0 ? '…' : '';
  const suffix = from + WINDOW < chars.length ? '…' : '';
  // Keep tabs so the caret lines up however the terminal renders them.
  const pad = shown
    .slice(0, col)
    .map((c) => (c === '\t' ? '\t' : ' '))
    .join('');
  return `${prefix}${shown.join('')}${suffix}\n${prefix === '' ? '' : ' '}${pad}^`;
}

function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

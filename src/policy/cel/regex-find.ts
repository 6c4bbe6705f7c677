import type { RE2JS } from '@bufbuild/re2';

/**
 * Leftmost-first match positions for an RE2 program.
 *
 * @bufbuild/re2 only answers "does it match" (its DFA keeps no positions), but
 * Kubernetes' `find`/`findAll` need Go's `FindString`/`FindAllString`. This is
 * a Pike VM (Thompson NFA simulation with thread priority, as in Go's
 * regexp/exec.go) run over the program the library compiled, so the syntax
 * and semantics stay RE2's and the running time stays linear in the input.
 * It reads the compiled program through a few public-but-undocumented fields;
 * `programOf` checks their shape so a library change fails loudly, not wrongly.
 */

interface Inst {
  readonly op: number;
  readonly out: number;
  readonly arg: number;
  matchRune(r: number): boolean;
}

interface Prog {
  readonly inst: readonly Inst[];
  readonly start: number;
}

interface Ops {
  readonly ALT: number;
  readonly ALT_MATCH: number;
  readonly CAPTURE: number;
  readonly EMPTY_WIDTH: number;
  readonly FAIL: number;
  readonly MATCH: number;
  readonly NOP: number;
  readonly RUNE: number;
  readonly RUNE1: number;
  readonly RUNE_ANY: number;
  readonly RUNE_ANY_NOT_NL: number;
}

// Zero-width assertion bits, as in RE2 (syntax.EmptyOp).
const EMPTY_BEGIN_LINE = 0x01;
const EMPTY_END_LINE = 0x02;
const EMPTY_BEGIN_TEXT = 0x04;
const EMPTY_END_TEXT = 0x08;
const EMPTY_WORD_BOUNDARY = 0x10;
const EMPTY_NO_WORD_BOUNDARY = 0x20;

const OP_NAMES = [
  'ALT',
  'ALT_MATCH',
  'CAPTURE',
  'EMPTY_WIDTH',
  'FAIL',
  'MATCH',
  'NOP',
  'RUNE',
  'RUNE1',
  'RUNE_ANY',
  'RUNE_ANY_NOT_NL',
] as const;

const programs = new WeakMap<RE2JS, { prog: Prog; ops: Ops }>();

function programOf(re: RE2JS): { prog: Prog; ops: Ops } {
  const known = programs.get(re);
  if (known !== undefined) return known;
  const prog = (re.re2() as unknown as { prog?: unknown }).prog as Partial<Prog> | undefined;
  const first = prog?.inst?.[0];
  const ctor = first === undefined ? undefined : (Object.getPrototypeOf(first) as { constructor?: unknown }).constructor;
  const ops = ctor as Partial<Record<(typeof OP_NAMES)[number], unknown>> | undefined;
  if (
    prog === undefined ||
    !Array.isArray(prog.inst) ||
    typeof prog.start !== 'number' ||
    first === undefined ||
    typeof first.matchRune !== 'function' ||
    ops === undefined ||
    OP_NAMES.some((n) => typeof ops[n] !== 'number')
  ) {
    throw new Error('unsupported @bufbuild/re2 program layout: cannot compute match positions');
  }
  const entry = { prog: prog as Prog, ops: ops as unknown as Ops };
  programs.set(re, entry);
  return entry;
}

function isWordRune(r: number): boolean {
  return (r >= 0x61 && r <= 0x7a) || (r >= 0x41 && r <= 0x5a) || (r >= 0x30 && r <= 0x39) || r === 0x5f;
}

function emptyContext(before: number, after: number): number {
  let flags = 0;
  if (before < 0) flags |= EMPTY_BEGIN_TEXT | EMPTY_BEGIN_LINE;
  if (before === 0x0a) flags |= EMPTY_BEGIN_LINE;
  if (after < 0) flags |= EMPTY_END_TEXT | EMPTY_END_LINE;
  if (after === 0x0a) flags |= EMPTY_END_LINE;
  flags |= isWordRune(before) !== isWordRune(after) ? EMPTY_WORD_BOUNDARY : EMPTY_NO_WORD_BOUNDARY;
  return flags;
}

/** Code point starting at `pos`, or -1 at the end. Unpaired surrogates are runes of their own. */
function runeAt(text: string, pos: number): number {
  if (pos >= text.length) return -1;
  return text.codePointAt(pos) ?? -1;
}

function runeWidth(r: number): number {
  return r > 0xffff ? 2 : 1;
}

/** Code point ending at `pos`, or -1 at the start. */
function runeBefore(text: string, pos: number): number {
  if (pos <= 0) return -1;
  const low = text.charCodeAt(pos - 1);
  if (low >= 0xdc00 && low <= 0xdfff && pos >= 2) {
    const high = text.charCodeAt(pos - 2);
    if (high >= 0xd800 && high <= 0xdbff) return text.codePointAt(pos - 2) ?? low;
  }
  return low;
}

/** A sparse set of program counters, in insertion (priority) order, each with its thread's start. */
class Queue {
  readonly sparse: Uint32Array;
  readonly densePc: Uint32Array;
  readonly denseStart: Int32Array;
  readonly thread: Uint8Array;
  size = 0;

  constructor(n: number) {
    this.sparse = new Uint32Array(n);
    this.densePc = new Uint32Array(n);
    this.denseStart = new Int32Array(n);
    this.thread = new Uint8Array(n);
  }

  has(pc: number): boolean {
    const i = this.sparse[pc] ?? 0;
    return i < this.size && this.densePc[i] === pc;
  }

  insert(pc: number, start: number, isThread: boolean): void {
    const i = this.size++;
    this.sparse[pc] = i;
    this.densePc[i] = pc;
    this.denseStart[i] = start;
    this.thread[i] = isThread ? 1 : 0;
  }
}

/**
 * Follows empty transitions from `pc0` and queues the runnable threads in
 * priority order. Iterative, so large programs cannot overflow the stack.
 */
function addThread(prog: Prog, ops: Ops, q: Queue, pc0: number, start: number, context: number, stack: number[]): void {
  stack.length = 0;
  stack.push(pc0);
  while (stack.length > 0) {
    const pc = stack.pop() as number;
    if (q.has(pc)) continue;
    const inst = prog.inst[pc] as Inst;
    switch (inst.op) {
      case ops.FAIL:
        q.insert(pc, start, false);
        break;
      case ops.ALT:
      case ops.ALT_MATCH:
        q.insert(pc, start, false);
        // `out` has priority over `arg`: push it last so it is explored first.
        stack.push(inst.arg, inst.out);
        break;
      case ops.EMPTY_WIDTH:
        q.insert(pc, start, false);
        if ((inst.arg & ~context) === 0) stack.push(inst.out);
        break;
      case ops.NOP:
      case ops.CAPTURE:
        // Only the overall match bounds are needed: the start is carried per thread.
        q.insert(pc, start, false);
        stack.push(inst.out);
        break;
      default:
        // MATCH and the rune instructions are threads.
        q.insert(pc, start, true);
        break;
    }
  }
}

/**
 * Leftmost-first match of `re` in `text` at or after `from`, as [start, end)
 * UTF-16 offsets, or undefined. Assertions see the whole text, as in Go.
 */
export function findMatch(re: RE2JS, text: string, from: number): [number, number] | undefined {
  const { prog, ops } = programOf(re);
  const n = prog.inst.length;
  let run = new Queue(n);
  let next = new Queue(n);
  const stack: number[] = [];
  let matchStart = -1;
  let matchEnd = -1;
  let pos = from;
  let before = runeBefore(text, pos);
  for (;;) {
    const r = runeAt(text, pos);
    if (matchStart < 0) {
      // A new, lowest-priority thread starts at every position until something matches.
      addThread(prog, ops, run, prog.start, pos, emptyContext(before, r), stack);
    }
    if (run.size === 0) break;
    const width = r < 0 ? 0 : runeWidth(r);
    const nextContext = r < 0 ? 0 : emptyContext(r, runeAt(text, pos + width));
    next.size = 0;
    for (let i = 0; i < run.size; i++) {
      if (run.thread[i] === 0) continue;
      const inst = prog.inst[run.densePc[i] as number] as Inst;
      if (inst.op === ops.MATCH) {
        matchStart = run.denseStart[i] as number;
        matchEnd = pos;
        // Leftmost-first: lower-priority threads can no longer win.
        break;
      }
      if (r >= 0 && inst.matchRune(r)) {
        addThread(prog, ops, next, inst.out, run.denseStart[i] as number, nextContext, stack);
      }
    }
    if (r < 0) break;
    [run, next] = [next, run];
    before = r;
    pos += width;
  }
  return matchStart < 0 ? undefined : [matchStart, matchEnd];
}

/** Go's `FindAllString(s, n)`: n < 0 means all; empty matches right after a match are skipped. */
export function findAllMatches(re: RE2JS, text: string, limit: number): string[] {
  const out: string[] = [];
  let pos = 0;
  let prevEnd = -1;
  while ((limit < 0 || out.length < limit) && pos <= text.length) {
    const m = findMatch(re, text, pos);
    if (m === undefined) break;
    const [start, end] = m;
    let accept = true;
    if (end === start) {
      if (start === prevEnd) accept = false;
      const r = runeAt(text, end);
      pos = r < 0 ? text.length + 1 : end + runeWidth(r);
    } else {
      pos = end;
    }
    prevEnd = end;
    if (accept) out.push(text.slice(start, end));
  }
  return out;
}

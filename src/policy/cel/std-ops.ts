import { celEnv, isCelError, type CelValue } from '@bufbuild/cel';

/**
 * The library's own operator overloads (`_==_`, `_<_`, `_+_`, ...), reused by
 * the extension functions so `indexOf`, `min`, `sum` and friends compare and
 * add exactly as the corresponding CEL operators do (cross-type numeric
 * comparison, int64 overflow errors, duration arithmetic).
 */
const stdFuncs = celEnv().funcs;

function operator(name: string): (a: CelValue, b: CelValue) => CelValue {
  const group = stdFuncs.find(name);
  if (group === undefined) throw new Error(`@bufbuild/cel has no ${name} operator`);
  return (a, b) => {
    const r = group.call(0, undefined, [a, b]);
    if (r === undefined) {
      throw new Error(`found no matching overload for '${name}' applied to '(${typeName(a)}, ${typeName(b)})'`);
    }
    // Re-throw as a plain Error so the calling function's expression id is attached.
    if (isCelError(r)) throw new Error(r.message, { cause: r });
    return r;
  };
}

function typeName(v: CelValue): string {
  switch (typeof v) {
    case 'bigint':
      return 'int';
    case 'number':
      return 'double';
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    default:
      return v === null ? 'null_type' : 'dyn';
  }
}

const eq = operator('_==_');
const lt = operator('_<_');
const gt = operator('_>_');

export function celEquals(a: CelValue, b: CelValue): boolean {
  return eq(a, b) === true;
}

export function celLess(a: CelValue, b: CelValue): boolean {
  return lt(a, b) === true;
}

export function celGreater(a: CelValue, b: CelValue): boolean {
  return gt(a, b) === true;
}

export const celAdd = operator('_+_');

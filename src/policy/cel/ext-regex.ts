import { celMethod, CelScalar, listType, type CelFunc } from '@bufbuild/cel';
import type { RegexCache } from './regex-cache.ts';
import { findAllMatches, findMatch } from './regex-find.ts';

/**
 * Kubernetes `regex` library: `find` and `findAll`, with Go's FindString /
 * FindAllString semantics (leftmost-first, RE2 syntax, linear time).
 * https://kubernetes.io/docs/reference/using-api/cel/#kubernetes-regex-library
 */

const { INT, STRING } = CelScalar;
const STRING_LIST = listType(STRING);

function compile(cache: RegexCache, pattern: string) {
  try {
    return cache.compile(pattern);
  } catch (e) {
    // Kubernetes wording, so messages match what policy authors see there.
    throw new Error(`Illegal regex: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

export function regexFuncs(cache: RegexCache): readonly CelFunc[] {
  return [
    celMethod('find', STRING, [STRING], STRING, function (pattern) {
      const m = findMatch(compile(cache, pattern), this, 0);
      return m === undefined ? '' : this.slice(m[0], m[1]);
    }),
    celMethod('findAll', STRING, [STRING], STRING_LIST, function (pattern) {
      return findAllMatches(compile(cache, pattern), this, -1);
    }),
    celMethod('findAll', STRING, [STRING, INT], STRING_LIST, function (pattern, n) {
      // Go takes an int; anything below zero means "all", and no list can exceed 2^31 matches here.
      const limit = n < 0n ? -1 : n > 0x7fffffffn ? 0x7fffffff : Number(n);
      return findAllMatches(compile(cache, pattern), this, limit);
    }),
  ];
}

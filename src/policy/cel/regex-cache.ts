import { RE2JS } from '@bufbuild/re2';

export const DEFAULT_REGEX_CACHE_SIZE = 256;
export const DEFAULT_MAX_REGEX_LENGTH = 1024;

export interface RegexCacheOptions {
  /** Compiled patterns kept, least recently used evicted first. */
  readonly size?: number;
  /** Longest pattern accepted, in UTF-16 units. Longer ones are refused before compiling. */
  readonly maxPatternLength?: number;
}

type Entry = { readonly re: RE2JS } | { readonly error: Error };

/**
 * A bounded LRU of compiled RE2 programs. The library's built-in `matches`
 * recompiles on every call (~176 µs); policies reuse a handful of patterns,
 * so caching them is the main evaluation speed-up. Compile failures are
 * cached too, so a policy with a bad pattern does not recompile it per request.
 */
export class RegexCache {
  readonly size: number;
  readonly maxPatternLength: number;
  readonly #entries = new Map<string, Entry>();

  constructor(options: RegexCacheOptions = {}) {
    this.size = Math.max(1, Math.floor(options.size ?? DEFAULT_REGEX_CACHE_SIZE));
    this.maxPatternLength = Math.max(1, Math.floor(options.maxPatternLength ?? DEFAULT_MAX_REGEX_LENGTH));
  }

  /** Returns the compiled pattern or throws the (cached) compile error. */
  compile(pattern: string): RE2JS {
    if (pattern.length > this.maxPatternLength) {
      throw new Error(`regex pattern is ${pattern.length} characters, over the limit of ${this.maxPatternLength}`);
    }
    let entry = this.#entries.get(pattern);
    if (entry !== undefined) {
      // Re-insert to mark as most recently used.
      this.#entries.delete(pattern);
    } else {
      try {
        entry = { re: RE2JS.compile(pattern) };
      } catch (e) {
        entry = { error: e instanceof Error ? e : new Error(String(e)) };
      }
      if (this.#entries.size >= this.size) {
        const oldest = this.#entries.keys().next();
        if (oldest.done !== true) this.#entries.delete(oldest.value);
      }
    }
    this.#entries.set(pattern, entry);
    if ('error' in entry) throw entry.error;
    return entry.re;
  }

  /** Number of cached patterns (for tests and metrics). */
  get cached(): number {
    return this.#entries.size;
  }
}

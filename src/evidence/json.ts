import { VerificationCode, VerificationError } from './errors.ts';
import { DEFAULT_LIMITS, type Limits } from './limits.ts';

/**
 * Deepest nesting of objects and arrays in a JSON text, stopping as soon as
 * `max` is passed. Written by hand because JSON.parse has no depth bound and
 * checking depth afterwards would recurse over a hostile document; this is a
 * single linear pass that only tracks strings and brackets.
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // Jump over the string with indexOf (vectorised) instead of a char loop.
      let end = text.indexOf('"', i + 1);
      while (end !== -1 && isEscaped(text, end)) end = text.indexOf('"', end + 1);
      if (end === -1) return false; // unterminated: JSON.parse rejects it
      i = end;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return false;
}

/** True when the quote at `at` follows an odd run of backslashes. */
function isEscaped(text: string, at: number): boolean {
  let n = 0;
  while (text.charCodeAt(at - 1 - n) === 0x5c) n++;
  return n % 2 === 1;
}

const UTF8 = new TextDecoder('utf-8', { fatal: false });

/** JSON.parse under the size and depth limits; failures are VerificationErrors naming `what`. */
export function parseBoundedJson(input: string | Uint8Array, what: string, limits: Limits): unknown {
  // A UTF-16 code unit is at most 3 UTF-8 bytes, so short text needs no exact count.
  const size =
    typeof input === 'string'
      ? input.length * 3 <= limits.maxDocumentBytes
        ? input.length
        : Buffer.byteLength(input)
      : input.byteLength;
  if (size > limits.maxDocumentBytes) {
    throw new VerificationError(
      VerificationCode.LIMIT_EXCEEDED,
      `${what} is ${size} bytes, over the limit of ${limits.maxDocumentBytes}`,
    );
  }
  const text = typeof input === 'string' ? input : UTF8.decode(input);
  if (jsonDepthExceeds(text, limits.maxJsonDepth)) {
    throw new VerificationError(
      VerificationCode.LIMIT_EXCEEDED,
      `${what} nests deeper than the limit of ${limits.maxJsonDepth} levels`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new VerificationError(VerificationCode.MALFORMED, `${what} is not valid JSON: ${(err as Error).message}`);
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses a JSON object (a predicate, say) under the limits. */
export function parseBoundedJsonObject(
  input: string | Uint8Array,
  what: string,
  limits: Limits = DEFAULT_LIMITS,
): Record<string, unknown> {
  const value = parseBoundedJson(input, what, limits);
  if (!isPlainObject(value)) throw new VerificationError(VerificationCode.MALFORMED, `${what} must be a JSON object`);
  return value;
}

import canonicalizeImpl from 'canonicalize';

/**
 * RFC 8785 JSON Canonicalization Scheme, by the `canonicalize` package (written
 * by one of the RFC's authors). Used wherever bytes must be the same for the
 * same value: envelope digests and store keys.
 */
export function canonicalize(value: unknown): string {
  const out = canonicalizeImpl(value);
  if (out === undefined) throw new TypeError('value has no JSON representation');
  return out;
}

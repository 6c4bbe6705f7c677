import { VerificationCode, VerificationError } from './errors.ts';

// Node's base64 decoder skips characters outside the alphabet without a word,
// so "ab!cd" and "abcd" decode alike. Evidence must not have two spellings, so
// every base64 field is checked against the alphabet first. Standard and
// URL-safe alphabets are both accepted (DSSE allows either), padding optional.
const BASE64 = /^(?:[A-Za-z0-9+/]*|[A-Za-z0-9\-_]*)={0,2}$/;

export function decodeBase64Strict(value: unknown, field: string): Buffer {
  if (typeof value !== 'string') {
    throw new VerificationError(VerificationCode.MALFORMED, `${field} must be a base64 string`);
  }
  // Fast path: the text is one of the four canonical spellings of the bytes it decodes to.
  const decoded = Buffer.from(value, 'base64');
  if (isCanonicalSpelling(value, decoded)) return decoded;
  diagnoseBase64(value, field);
  throw new VerificationError(VerificationCode.MALFORMED, `${field} is not valid base64`);
}

function isCanonicalSpelling(value: string, bytes: Buffer): boolean {
  const std = bytes.toString('base64');
  if (value === std) return true;
  const url = bytes.toString('base64url');
  const padding = std.slice(url.length);
  return value === url || value === url + padding || value === std.slice(0, url.length);
}

/** The old checks, kept to say why a rejected value is wrong. */
function diagnoseBase64(value: string, field: string): Buffer {
  const body = value.replace(/=+$/, '');
  if (!BASE64.test(value) || body.length % 4 === 1 || (value.length !== body.length && value.length % 4 !== 0)) {
    throw new VerificationError(VerificationCode.MALFORMED, `${field} is not valid base64`);
  }
  const bytes = Buffer.from(value, 'base64');
  // Unused low bits in the last character must be zero, or one value has many spellings.
  const tail = body.length % 4;
  if (tail !== 0) {
    const last = bytes.toString('base64', bytes.length - (tail === 2 ? 1 : 2)).replace(/=+$/, '');
    const given = body.slice(-last.length).replace(/-/g, '+').replace(/_/g, '/');
    if (last !== given) throw new VerificationError(VerificationCode.MALFORMED, `${field} is not canonical base64`);
  }
  return bytes;
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

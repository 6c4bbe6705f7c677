/**
 * Kubernetes resource.Quantity parsing, exact.
 *
 * Grammar (k8s.io/apimachinery/pkg/api/resource):
 *   <quantity> ::= <signedNumber><suffix>
 *   <number>   ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
 *   <suffix>   ::= <binarySI> | <decimalExponent> | <decimalSI>
 *   <binarySI> ::= Ki | Mi | Gi | Ti | Pi | Ei
 *   <decimalSI> ::= n | u | m | "" | k | M | G | T | P | E
 *   <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>
 *
 * Like Kubernetes, a non-zero value finer than 1n is rounded up (away from
 * zero) to 1n, and binary-SI values are capped at 2^63-1. Every parsed value
 * is therefore an integer number of nano-units, which is how it is held
 * (a bigint), so comparison and add/sub are exact.
 */

export const QUANTITY_FORMAT_ERROR =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
export const QUANTITY_SUFFIX_ERROR = "unable to parse quantity's suffix";

const NANO = 1_000_000_000n;
const MAX_INT64 = (1n << 63n) - 1n;
// Decimal exponents above this would need arbitrarily large bigints; Kubernetes never needs them.
const MAX_DECIMAL_EXPONENT = 4096;

const DECIMAL_SUFFIXES: Readonly<Record<string, number>> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIXES: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const SUFFIX_CHARS = 'eEinumkKMGTP';

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** Parses a quantity to nano-units. Throws Error with the Kubernetes message on bad input. */
export function parseQuantity(str: string): bigint {
  if (str.length === 0) throw new Error(QUANTITY_FORMAT_ERROR);
  let pos = 0;
  let negative = false;
  if (str[0] === '-' || str[0] === '+') {
    negative = str[0] === '-';
    pos++;
  }
  const intStart = pos;
  while (isDigit(str[pos])) pos++;
  const intDigits = str.slice(intStart, pos);
  let fracDigits = '';
  if (str[pos] === '.') {
    pos++;
    const fracStart = pos;
    while (isDigit(str[pos])) pos++;
    fracDigits = str.slice(fracStart, pos);
  }
  // The documented grammar needs a digit ("Mi" and "." are not quantities).
  if (intDigits.length + fracDigits.length === 0) throw new Error(QUANTITY_FORMAT_ERROR);

  const suffixStart = pos;
  while (pos < str.length && SUFFIX_CHARS.includes(str[pos] as string)) pos++;
  if (str[pos] === '+' || str[pos] === '-') pos++;
  while (isDigit(str[pos])) pos++;
  if (pos !== str.length) throw new Error(QUANTITY_FORMAT_ERROR);
  const suffix = str.slice(suffixStart);

  const mantissa = BigInt((intDigits + fracDigits).replace(/^0+(?=\d)/, '') || '0');
  let magnitude: bigint;
  const decimal = DECIMAL_SUFFIXES[suffix];
  const binary = BINARY_SUFFIXES[suffix];
  if (decimal !== undefined) {
    magnitude = scaleDecimal(mantissa, decimal - fracDigits.length);
  } else if (binary !== undefined) {
    magnitude = ceilDiv(mantissa * NANO * (1n << BigInt(binary)), 10n ** BigInt(fracDigits.length));
    if (magnitude > MAX_INT64 * NANO) magnitude = MAX_INT64 * NANO;
  } else if (suffix.length > 1 && (suffix[0] === 'e' || suffix[0] === 'E') && /^[+-]?\d+$/.test(suffix.slice(1))) {
    const exponent = BigInt(suffix.slice(1));
    // Go parses the exponent as an int64.
    if (exponent > MAX_INT64 || exponent < -MAX_INT64 - 1n) throw new Error(QUANTITY_SUFFIX_ERROR);
    if (exponent > BigInt(MAX_DECIMAL_EXPONENT) && mantissa !== 0n) {
      throw new Error(`quantity exponent ${exponent} is above the supported ${MAX_DECIMAL_EXPONENT}`);
    }
    const e = Number(exponent < -1_000_000n ? -1_000_000n : exponent);
    magnitude = scaleDecimal(mantissa, e - fracDigits.length);
  } else {
    throw new Error(QUANTITY_SUFFIX_ERROR);
  }
  return negative ? -magnitude : magnitude;
}

/** mantissa × 10^exponent in nano-units, rounded up to a whole nano-unit. */
function scaleDecimal(mantissa: bigint, exponent: number): bigint {
  const shift = exponent + 9;
  if (shift >= 0) return mantissa * 10n ** BigInt(shift);
  if (mantissa === 0n) return 0n;
  // Below one nano-unit whatever the digits: Kubernetes rounds up to 1n.
  if (-shift > mantissa.toString().length) return 1n;
  return ceilDiv(mantissa, 10n ** BigInt(-shift));
}

function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return q * b === a ? q : q + 1n;
}

/** The value as an int64 if it is a whole number in range, else undefined. */
export function quantityAsInt64(nanos: bigint): bigint | undefined {
  if (nanos % NANO !== 0n) return undefined;
  const v = nanos / NANO;
  return v > MAX_INT64 || v < -MAX_INT64 - 1n ? undefined : v;
}

/** Nearest double (decimal → binary conversion is correctly rounded by parseFloat). */
export function quantityAsFloat(nanos: bigint): number {
  return Number.parseFloat(`${nanos}e-9`);
}

/** A canonical decimal-SI string: whole units when exact, else the largest exact m/u/n suffix. */
export function formatQuantity(nanos: bigint): string {
  if (nanos % NANO === 0n) return (nanos / NANO).toString();
  if (nanos % 1_000_000n === 0n) return `${nanos / 1_000_000n}m`;
  if (nanos % 1_000n === 0n) return `${nanos / 1_000n}u`;
  return `${nanos}n`;
}

export const QUANTITY_NANO = NANO;

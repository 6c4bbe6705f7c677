import type { ArtifactDigests } from './artifacts.ts';
import type { DecodedEnvelope } from './dsse.ts';
import { VerificationCode, VerificationError } from './errors.ts';
import { parseBoundedJson } from './json.ts';
import type { Limits } from './limits.ts';
import { IN_TOTO_PAYLOAD_TYPE, validateStatement, type Statement } from './statement.ts';

// The statement-level checks every verification path makes after the
// signature is known good. Sigstore's verifier leaves all of these to its
// caller: it does not look at payloadType, subjects or predicateType.

export function checkPayloadType(envelope: DecodedEnvelope): void {
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new VerificationError(
      VerificationCode.PAYLOAD_TYPE,
      `DSSE payloadType is ${JSON.stringify(envelope.payloadType.slice(0, 200))}, expected "${IN_TOTO_PAYLOAD_TYPE}"`,
    );
  }
}

export function parseStatementPayload(envelope: DecodedEnvelope, limits: Limits): Statement {
  if (envelope.payload.byteLength > limits.maxPayloadBytes) {
    throw new VerificationError(
      VerificationCode.LIMIT_EXCEEDED,
      `DSSE payload is ${envelope.payload.byteLength} bytes, over the limit of ${limits.maxPayloadBytes}`,
    );
  }
  const value = parseBoundedJson(envelope.payload, 'statement', limits);
  return validateStatement(value, limits);
}

export function checkPredicateType(statement: Statement, expected: string | undefined): void {
  if (expected !== undefined && statement.predicateType !== expected) {
    throw new VerificationError(
      VerificationCode.PREDICATE_TYPE_MISMATCH,
      `statement predicateType is "${statement.predicateType}", expected "${expected}"`,
    );
  }
}

/** Every artifact must be a subject: some digest algorithm both sides carry must agree. */
export function checkSubjects(statement: Statement, artifacts: readonly ArtifactDigests[] | undefined): void {
  for (const artifact of artifacts ?? []) {
    const matched = statement.subject.some((s) =>
      Object.entries(artifact.digests).some(([alg, hex]) => s.digest[alg] === hex),
    );
    if (!matched) {
      const shown = artifact.digests.sha256 ? `sha256:${artifact.digests.sha256}` : 'its digest';
      throw new VerificationError(
        VerificationCode.SUBJECT_MISMATCH,
        `artifact ${artifact.name} (${shown}) is not a subject of the statement`,
      );
    }
  }
}

import { canonicalize, type DecodedEnvelope, type PublicKey } from '../evidence/index.ts';
import { createHash } from 'node:crypto';

/** tlog-tiles entry bundles prefix each entry with a uint16 length. */
export const MAX_ENTRY_BYTES = 65_535;

const KEY_DETAILS: Record<PublicKey['algorithm'], string> = {
  ed25519: 'PKIX_ED25519',
  'ecdsa-p256': 'PKIX_ECDSA_P256_SHA_256',
};

export class EntryError extends Error {
  readonly code = 'ENTRY_TOO_LARGE';
}

/**
 * The log entry for a DSSE envelope, as Rekor v2 writes it: `dsse` v0.0.2 with
 * the payload hash and each signature with its verifier key, canonicalized by
 * RFC 8785. A Sigstore verifier that trusts warrant's log checks a bundle's
 * entry against this body. Logging the digest, not the statement, keeps
 * entries small and the statement's contents out of a public log.
 */
export function dsseEntry(envelope: DecodedEnvelope, signers: readonly PublicKey[]): Buffer {
  const byKeyId = new Map(signers.map((k) => [k.keyId, k]));
  const signatures = envelope.signatures.flatMap((s) => {
    const key = byKeyId.get(s.keyid) ?? (signers.length === 1 ? signers[0] : undefined);
    if (key === undefined) return [];
    return [
      {
        content: s.sig.toString('base64'),
        verifier: {
          keyDetails: KEY_DETAILS[key.algorithm],
          publicKey: { rawBytes: key.key.export({ type: 'spki', format: 'der' }).toString('base64') },
        },
      },
    ];
  });
  return bounded(
    canonicalize({
      apiVersion: '0.0.2',
      kind: 'dsse',
      spec: {
        dsseV002: {
          payloadHash: {
            algorithm: 'SHA2_256',
            digest: createHash('sha256').update(envelope.payload).digest('base64'),
          },
          signatures,
        },
      },
    }),
  );
}

/** Who did what, when, with what result: an audit event as a log entry. */
export interface AuditEvent {
  /** ISO 8601 UTC. */
  time: string;
  actor: string;
  action: string;
  target: string;
  outcome: 'success' | 'failure' | 'indeterminate';
  details?: Record<string, unknown>;
}

export function auditEntry(event: AuditEvent): Buffer {
  return bounded(canonicalize({ apiVersion: '0.0.1', kind: 'warrant.audit', spec: event }));
}

function bounded(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > MAX_ENTRY_BYTES) {
    throw new EntryError(`log entry is ${bytes.length} bytes, over the tlog-tiles limit of ${MAX_ENTRY_BYTES}`);
  }
  return bytes;
}

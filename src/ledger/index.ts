// warrant's transparency log: RFC 6962 Merkle tree, C2SP signed-note
// checkpoints, tlog-tiles, proofs, audit and a monitor for any tiles log.
export { auditLog, type AuditProblem, type AuditReport } from './audit.ts';
export {
  CheckpointError,
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
  type Checkpoint,
} from './checkpoint.ts';
export { auditEntry, dsseEntry, EntryError, MAX_ENTRY_BYTES, type AuditEvent } from './entries.ts';
export { integrate, merkleIntegrator } from './integrate.ts';
export { Ledger, LedgerError, type LedgerOptions } from './log.ts';
export { loadOrCreateLogKey, logIdOf, logKeyFromSkey, type LogKey } from './log-key.ts';
export {
  formatVerifierKey,
  NoteError,
  openNote,
  parseVerifierKey,
  signNote,
  type NoteSigner,
  type NoteVerifier,
} from './note.ts';
export {
  consistencyProof,
  foldRange,
  inclusionProof,
  ProofError,
  rootFromInclusionProof,
  treeRoot,
  verifyConsistency,
  verifyInclusion,
  type NodeId,
} from './proof.ts';
export { emptyRoot, leafHash, nodeHash } from './rfc6962.ts';
export type {
  AppendItem,
  AppendOutcome,
  Integrator,
  LedgerStorage,
  StoredCheckpoint,
  TreeHead,
} from './storage.ts';
export {
  decodeEntryBundle,
  decodeHashTile,
  encodeEntryBundle,
  encodeHashTile,
  entriesPath,
  parseTilePath,
  TILE_WIDTH,
  tilePath,
  TilePathError,
} from './tiles.ts';
export { toTlogEntry } from './tlog-entry.ts';
export {
  FileMonitorState,
  LogMonitor,
  MonitorError,
  TilesClient,
  TilesClientError,
  type LogMonitorOptions,
  type MonitorOutcome,
  type MonitorResult,
  type MonitorState,
} from './monitor.ts';

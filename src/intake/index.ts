export { openWarrant, logKeyPath, type Warrant } from './context.ts';
export { EvidenceIntake, isBadInput, withLogEntry, type IntakeResult } from './intake.ts';
export { loadTrustedKeys, trustDir } from './trust.ts';

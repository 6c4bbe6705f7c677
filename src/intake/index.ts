export { EvidenceIntake, isBadInput, type IntakeResult } from './intake.ts';
export { loadTrustedKeys, trustDir } from './trust.ts';

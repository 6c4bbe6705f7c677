import { createHash } from 'node:crypto';
import type { EvaluationInput } from '../evaluate.ts';
import { referencedDigests } from '../testing.ts';

/** What a canary splits on: the first digest the resource references, else its identity. */
export function subjectKey(input: EvaluationInput): string {
  const object = input.object ?? input.oldObject;
  const digest = referencedDigests(object)[0];
  if (digest !== undefined) return digest;
  const meta = (object?.metadata ?? {}) as { name?: string; namespace?: string };
  return `${String(object?.kind ?? '')}/${meta.namespace ?? ''}/${meta.name ?? ''}`;
}

/** 0..99, stable for a subject within one rollout (and reshuffled by the next one). */
export function bucketOf(rolloutId: string, key: string): number {
  return createHash('sha256').update(`${rolloutId}:${key}`).digest().readUInt32BE(0) % 100;
}

export function newDecides(rolloutId: string, key: string, canaryPercent: number): boolean {
  return bucketOf(rolloutId, key) < canaryPercent;
}

import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { PolicyResult } from '../evaluate.ts';

/** One policy's outcome under one version, keyed by policy (and binding). */
export type Outcomes = Record<string, { result: PolicyResult['result']; effect: PolicyResult['effect'] }>;

/** One input evaluated by both versions during a rollout. */
export interface ShadowRecord {
  at: string;
  subject: string;
  bucket: number;
  decider: 'old' | 'new';
  old: { version: number; outcomes: Outcomes; latencyMs: number };
  new: { version: number; outcomes: Outcomes; latencyMs: number };
  disagree: boolean;
}

/** The shadow log stops growing here; later records are only counted (state.overflow). */
export const MAX_SHADOW_RECORDS = 100_000;

export function outcomesOf(results: readonly PolicyResult[]): Outcomes {
  const out: Outcomes = {};
  for (const r of results) out[r.binding === undefined ? r.policy : `${r.policy}/${r.binding}`] = { result: r.result, effect: r.effect };
  return out;
}

/** Old and new disagree when any policy's result or effect differs, or a policy exists in one only. */
export function disagree(a: Outcomes, b: Outcomes): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (a[k]?.result !== b[k]?.result || a[k]?.effect !== b[k]?.effect) return true;
  return false;
}

export async function appendShadow(path: string, record: ShadowRecord): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await appendFile(path, JSON.stringify(record) + '\n');
}

/** Every complete record; a torn last line (a crash mid-append) is skipped, not fatal. */
export async function readShadow(path: string): Promise<ShadowRecord[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: ShadowRecord[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      out.push(JSON.parse(line) as ShadowRecord);
    } catch {
      // skipped: see above
    }
  }
  return out;
}

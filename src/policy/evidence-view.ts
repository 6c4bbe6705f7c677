import type { Statement } from '../evidence/index.ts';

/** Predicate types the policy view understands; everything else is still listed under `statements`. */
export const PREDICATE = {
  slsaProvenanceV1: 'https://slsa.dev/provenance/v1',
  slsaProvenanceV02: 'https://slsa.dev/provenance/v0.2',
  cyclonedx: 'https://cyclonedx.org/bom',
  spdx: 'https://spdx.dev/Document',
  vulns: 'https://in-toto.io/attestation/vulns/v0.1',
  sarif: 'urn:warrant:predicate:sarif:v1',
  reproducible: 'urn:warrant:predicate:reproducible:v1',
  rollbackRehearsal: 'urn:warrant:predicate:rollback-rehearsal:v1',
} as const;

export interface VerifiedStatement {
  statement: Statement;
  /** Key id or certificate identity that signed it. */
  signer: string;
}

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'unknown'] as const;

/**
 * The shape of `evidence` in policy expressions, built from a subject's
 * verified statements only. Every section has `present`, so a policy can tell
 * "no SBOM" from "an SBOM with no components". Documented in docs/policy.md.
 */
export function evidenceView(subjects: readonly string[], verified: readonly VerifiedStatement[]): Record<string, unknown> {
  const of = (...types: string[]) => verified.filter((v) => types.includes(v.statement.predicateType));
  const provenance = of(PREDICATE.slsaProvenanceV1, PREDICATE.slsaProvenanceV02)[0];
  const sboms = of(PREDICATE.cyclonedx, PREDICATE.spdx);
  const vulns = of(PREDICATE.vulns);
  const sarif = of(PREDICATE.sarif);
  const reproducible = of(PREDICATE.reproducible)[0];
  const findings = vulns.flatMap((v) => vulnFindings(v.statement.predicate));
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, findings.filter((f) => f.severity === s).length]));
  const results = sarif.flatMap((v) => sarifResults(v.statement.predicate));
  return {
    subjects: [...subjects],
    statements: verified.map((v) => ({ predicateType: v.statement.predicateType, signer: v.signer, predicate: v.statement.predicate ?? {} })),
    provenance: provenance ? { present: true, signer: provenance.signer, ...provenanceFields(provenance.statement) } : { present: false },
    sbom: { present: sboms.length > 0, components: sboms.flatMap((v) => sbomComponents(v.statement.predicate)) },
    vulnerabilities: { present: vulns.length > 0, ...counts, findings },
    sarif: {
      present: sarif.length > 0,
      errors: results.filter((r) => r.level === 'error').length,
      warnings: results.filter((r) => r.level === 'warning').length,
      results,
    },
    reproducible: reproducible
      ? { present: true, status: String((reproducible.statement.predicate as { status?: unknown })?.status ?? 'unknown') }
      : { present: false, status: 'unknown' },
    rollbackRehearsed: of(PREDICATE.rollbackRehearsal).length > 0,
  };
}

function provenanceFields(s: Statement): Record<string, unknown> {
  const p = (s.predicate ?? {}) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  if (s.predicateType === PREDICATE.slsaProvenanceV1) {
    const deps = (p.buildDefinition?.resolvedDependencies ?? []) as { uri?: string; digest?: Record<string, string> }[];
    const source = deps.find((d) => typeof d.uri === 'string' && d.uri.startsWith('git+')) ?? deps[0];
    return {
      builderId: String(p.runDetails?.builder?.id ?? ''),
      buildType: String(p.buildDefinition?.buildType ?? ''),
      sourceRepository: String(source?.uri ?? '').replace(/^git\+/, '').replace(/@.*$/, ''),
      sourceRef: String(source?.uri ?? '').includes('@') ? String(source!.uri).replace(/^.*@/, '') : '',
      sourceDigest: source?.digest ?? {},
    };
  }
  return {
    builderId: String(p.builder?.id ?? ''),
    buildType: String(p.buildType ?? ''),
    sourceRepository: String(p.invocation?.configSource?.uri ?? '').replace(/^git\+/, '').replace(/@.*$/, ''),
    sourceRef: String(p.invocation?.configSource?.uri ?? '').includes('@') ? String(p.invocation.configSource.uri).replace(/^.*@/, '') : '',
    sourceDigest: p.invocation?.configSource?.digest ?? {},
  };
}

function sbomComponents(predicate: unknown): { name: string; version: string; purl: string }[] {
  const p = (predicate ?? {}) as { components?: unknown[]; packages?: unknown[] };
  const list = Array.isArray(p.components) ? p.components : Array.isArray(p.packages) ? p.packages : [];
  return list.slice(0, 100_000).map((c) => {
    const x = c as { name?: unknown; version?: unknown; versionInfo?: unknown; purl?: unknown };
    return { name: String(x.name ?? ''), version: String(x.version ?? x.versionInfo ?? ''), purl: String(x.purl ?? '') };
  });
}

function vulnFindings(predicate: unknown): { id: string; severity: (typeof SEVERITIES)[number] }[] {
  const results = ((predicate as { scanner?: { result?: unknown[] } })?.scanner?.result ?? []) as {
    id?: unknown;
    severity?: { method?: string; score?: unknown }[];
  }[];
  return results.slice(0, 100_000).map((r) => ({ id: String(r.id ?? ''), severity: severityOf(r.severity ?? []) }));
}

function severityOf(scores: { method?: string; score?: unknown }[]): (typeof SEVERITIES)[number] {
  for (const s of scores) {
    const text = String(s.score ?? '').toLowerCase();
    if ((SEVERITIES as readonly string[]).includes(text)) return text as (typeof SEVERITIES)[number];
    const n = Number(text);
    if (Number.isFinite(n) && text !== '') return n >= 9 ? 'critical' : n >= 7 ? 'high' : n >= 4 ? 'medium' : n > 0 ? 'low' : 'unknown';
  }
  return 'unknown';
}

function sarifResults(predicate: unknown): { ruleId: string; level: string; message: string }[] {
  const runs = ((predicate as { runs?: unknown[] })?.runs ?? []) as { results?: unknown[] }[];
  return runs
    .flatMap((r) => (Array.isArray(r.results) ? r.results : []))
    .slice(0, 100_000)
    .map((x) => {
      const r = x as { ruleId?: unknown; level?: unknown; message?: { text?: unknown } };
      return { ruleId: String(r.ruleId ?? ''), level: String(r.level ?? 'warning'), message: String(r.message?.text ?? '') };
    });
}

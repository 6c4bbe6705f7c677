import { readFile } from 'node:fs/promises';
import { DEFAULT_DOCUMENT_LIMITS, parseDocuments, PolicyError, type DocumentLimits } from './documents.ts';
import type { EvaluationInput } from './evaluate.ts';

/**
 * Reads resources to evaluate from JSON or YAML files: several per file
 * (multi-document YAML, a `List`, or a JSON array), or AdmissionReviews.
 * Every resource is also a candidate for ValidatingAdmissionPolicy params,
 * and Namespace resources supply namespace labels.
 */
export async function loadInputs(files: readonly string[], limits: DocumentLimits = DEFAULT_DOCUMENT_LIMITS): Promise<EvaluationInput[]> {
  const resources: Record<string, unknown>[] = [];
  const reviews: EvaluationInput[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => {
      throw new PolicyError('DOCUMENT_INVALID', `cannot read input ${file}`);
    });
    for (const doc of parseDocuments(text, file, limits)) {
      for (const item of flatten(doc.value)) {
        if (item === null || typeof item !== 'object' || Array.isArray(item)) {
          throw new PolicyError('DOCUMENT_INVALID', `${file}: every input must be an object with apiVersion and kind`);
        }
        const r = item as Record<string, unknown>;
        if (r.kind === 'AdmissionReview') reviews.push(fromAdmissionReview(r, file));
        else if (typeof r.kind !== 'string' || typeof r.apiVersion !== 'string') {
          throw new PolicyError('DOCUMENT_INVALID', `${file}: a resource without apiVersion and kind`);
        } else resources.push(r);
      }
    }
  }
  if (resources.length + reviews.length > limits.maxDocuments) {
    throw new PolicyError('LIMIT_EXCEEDED', `more than ${limits.maxDocuments} input resources`);
  }
  const namespaces = new Map(
    resources
      .filter((r) => r.kind === 'Namespace')
      .map((r) => [String((r.metadata as { name?: string } | undefined)?.name ?? ''), r]),
  );
  const withContext = (i: EvaluationInput): EvaluationInput => {
    const ns = String(((i.object ?? i.oldObject)?.metadata as { namespace?: string } | undefined)?.namespace ?? '');
    return { ...i, namespaceObject: i.namespaceObject ?? namespaces.get(ns) ?? null, paramsCandidates: resources };
  };
  return [...resources.map((object) => withContext({ object })), ...reviews.map(withContext)];
}

function flatten(value: unknown): unknown[] {
  if (Array.isArray(value)) return value.flatMap(flatten);
  const v = value as { kind?: unknown; items?: unknown };
  if (v && typeof v === 'object' && typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items)) return v.items;
  return [value];
}

function fromAdmissionReview(review: Record<string, unknown>, file: string): EvaluationInput {
  const request = review.request as Record<string, unknown> | undefined;
  if (request === undefined) throw new PolicyError('DOCUMENT_INVALID', `${file}: AdmissionReview without a request`);
  return {
    object: (request.object as Record<string, unknown> | null) ?? null,
    oldObject: (request.oldObject as Record<string, unknown> | null) ?? null,
    request,
  };
}

import type { LabelSelector, MatchResources, ResourceRule } from './model.ts';

/** What the matcher needs to know about a request: Kubernetes AdmissionRequest coordinates. */
export interface RequestCoordinates {
  group: string;
  version: string;
  resource: string;
  subResource: string;
  operation: string;
  namespace: string;
  labels: Record<string, string>;
  namespaceLabels: Record<string, string>;
}

/** Kubernetes MatchResources semantics: included by a rule, not excluded, selectors satisfied. */
export function matchesResources(match: MatchResources | undefined, req: RequestCoordinates): boolean {
  if (match === undefined) return true;
  if (match.resourceRules.length > 0 && !match.resourceRules.some((r) => ruleMatches(r, req))) return false;
  if (match.excludeResourceRules.some((r) => ruleMatches(r, req))) return false;
  // namespaceSelector does not apply to cluster-scoped resources other than namespaces.
  if (match.namespaceSelector && req.namespace !== '' && !selectorMatches(match.namespaceSelector, req.namespaceLabels)) return false;
  if (match.objectSelector && !selectorMatches(match.objectSelector, req.labels)) return false;
  return true;
}

function ruleMatches(rule: ResourceRule, req: RequestCoordinates): boolean {
  const any = (list: string[], value: string) => list.length === 0 || list.includes('*') || list.includes(value);
  const resource = req.subResource === '' ? req.resource : `${req.resource}/${req.subResource}`;
  const resourceOk =
    rule.resources.length === 0 ||
    rule.resources.some(
      (r) =>
        r === '*' ||
        r === resource ||
        (r === '*/*') ||
        (r.endsWith('/*') && req.subResource !== '' && r.slice(0, -2) === req.resource) ||
        (r.startsWith('*/') && r.slice(2) === req.subResource),
    );
  return any(rule.apiGroups, req.group) && any(rule.apiVersions, req.version) && any(rule.operations, req.operation) && resourceOk;
}

/** metav1.LabelSelector: all matchLabels and all matchExpressions must hold; an empty selector matches everything. */
export function selectorMatches(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const inValues = has && (e.values ?? []).includes(labels[e.key]!);
    if (e.operator === 'In' && !inValues) return false;
    if (e.operator === 'NotIn' && inValues) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/**
 * The resource name a kind is served under (lower-case plural), for inputs
 * that arrive as plain objects rather than AdmissionReviews. Kinds whose plural
 * is irregular are listed; the rest follow the English rules the API uses.
 */
export function resourceForKind(kind: string): string {
  const lower = kind.toLowerCase();
  const irregular: Record<string, string> = { endpoints: 'endpoints' };
  if (irregular[lower]) return irregular[lower];
  if (/(s|x|z|ch|sh)$/.test(lower)) return lower + 'es';
  if (/[^aeiou]y$/.test(lower)) return lower.slice(0, -1) + 'ies';
  return lower + 's';
}

import { celEnv, type CelEnv, type CelFunc } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { listFuncs } from './ext-lists.ts';
import { ipFuncs } from './ext-ip.ts';
import { quantityFuncs } from './ext-quantity.ts';
import { regexFuncs } from './ext-regex.ts';
import { semverFuncs } from './ext-semver.ts';
import { urlFuncs } from './ext-url.ts';
import { k8sTypeRegistry } from './k8s-types.ts';
import { RegexCache } from './regex-cache.ts';

export interface CelEnvironmentOptions {
  /** Compiled RE2 patterns kept per environment (LRU). Default 256. */
  readonly regexCacheSize?: number;
  /** Longest regex pattern accepted by matches/find/findAll, in UTF-16 units. Default 1024. */
  readonly maxRegexLength?: number;
  /** Extra functions; they may override built-in overloads with the same signature. */
  readonly funcs?: readonly CelFunc[];
}

/**
 * A CEL environment with what Kubernetes admission policies commonly use:
 * the cel-go `strings` extension (including `format`), a cached RE2 for
 * `matches`, and the Kubernetes lists, regex, url, ip/cidr, quantity and
 * semver libraries. Build one at start-up and share it; it is immutable
 * apart from the regex cache.
 */
export function createCelEnvironment(options: CelEnvironmentOptions = {}): CelEnv {
  const cache = new RegexCache({ size: options.regexCacheSize, maxPatternLength: options.maxRegexLength });
  return celEnv({
    registry: k8sTypeRegistry,
    re2: { compile: (pattern: string) => cache.compile(pattern) },
    funcs: [
      ...strings,
      ...listFuncs,
      ...regexFuncs(cache),
      ...urlFuncs,
      ...ipFuncs,
      ...quantityFuncs,
      ...semverFuncs,
      ...(options.funcs ?? []),
    ],
  });
}

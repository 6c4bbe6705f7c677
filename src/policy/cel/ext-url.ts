import { celFunc, celMethod, CelScalar, listType, mapType, type CelFunc } from '@bufbuild/cel';
import type { ReflectMessage } from '@bufbuild/protobuf/reflect';
import { fieldsOf, makeObject, URL_TYPE, URLDesc, type URLShape } from './k8s-types.ts';
import { escapedPath, parseQuery, parseRequestURI, parseURL, splitHostPort, type ParsedURL } from './url-parse.ts';

/**
 * Kubernetes `url` library. The URL is an object value (`kubernetes.URL`)
 * holding Go net/url's components, so getters answer exactly as Kubernetes.
 * https://kubernetes.io/docs/reference/using-api/cel/#kubernetes-url-library
 */

const { BOOL, STRING } = CelScalar;

function toURL(s: string): ParsedURL {
  try {
    // Validate as Kubernetes does (absolute URI or absolute path), then split with the lenient parser.
    parseRequestURI(s);
    return parseURL(s);
  } catch (e) {
    throw new Error(`URL parse error during conversion from string: parse ${JSON.stringify(s)}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export function urlValue(u: ParsedURL): ReflectMessage {
  return makeObject<URLShape>(URLDesc, { ...u });
}

function urlOf(v: ReflectMessage): URLShape {
  return fieldsOf<URLShape>(v);
}

export const urlFuncs: readonly CelFunc[] = [
  celFunc('url', [STRING], URL_TYPE, (s) => urlValue(toURL(s))),
  celFunc('isURL', [STRING], BOOL, (s) => {
    try {
      parseRequestURI(s);
      return true;
    } catch {
      return false;
    }
  }),
  celMethod('getScheme', URL_TYPE, [], STRING, function () {
    return urlOf(this).scheme;
  }),
  celMethod('getHost', URL_TYPE, [], STRING, function () {
    return urlOf(this).host;
  }),
  celMethod('getHostname', URL_TYPE, [], STRING, function () {
    return splitHostPort(urlOf(this).host).hostname;
  }),
  celMethod('getPort', URL_TYPE, [], STRING, function () {
    return splitHostPort(urlOf(this).host).port;
  }),
  celMethod('getEscapedPath', URL_TYPE, [], STRING, function () {
    return escapedPath(urlOf(this));
  }),
  celMethod('getQuery', URL_TYPE, [], mapType(STRING, listType(STRING)), function () {
    return parseQuery(urlOf(this).rawQuery);
  }),
];

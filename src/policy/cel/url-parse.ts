/**
 * URL parsing with Go net/url semantics, which is what Kubernetes' CEL `url`
 * library exposes (`url.ParseRequestURI` to validate, `url.Parse` to split).
 * The WHATWG URL parser in Node normalises (default ports dropped, "/" added,
 * hosts lower-cased), so `getPort()`/`getEscapedPath()` would differ from
 * Kubernetes; hence this port. Go works on UTF-8 bytes: the input is turned
 * into a "byte string" (one char per byte) and results are decoded back.
 */

export interface ParsedURL {
  readonly scheme: string;
  readonly opaque: string;
  /** Userinfo as written (still escaped); empty when absent. */
  readonly user: string;
  /** Host with port, unescaped; IPv6 literals keep their brackets. */
  readonly host: string;
  /** Unescaped path. */
  readonly path: string;
  /** Original escaped path when it differs from the default escaping of `path`. */
  readonly rawPath: string;
  readonly forceQuery: boolean;
  readonly rawQuery: string;
  /** Unescaped fragment. */
  readonly fragment: string;
}

/** Which URL component is being escaped or unescaped (Go's `encoding`). */
const Mode = { Path: 1, Host: 2, Zone: 3, UserPassword: 4, QueryComponent: 5, Fragment: 6 } as const;
type Mode = (typeof Mode)[keyof typeof Mode];

function toBytes(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

function fromBytes(b: string): string {
  return Buffer.from(b, 'latin1').toString('utf8');
}

function isHex(c: string | undefined): boolean {
  return c !== undefined && /^[0-9a-fA-F]$/.test(c);
}

function unhex(c: string): number {
  return Number.parseInt(c, 16);
}

function isAlnum(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

function shouldEscape(c: string, mode: Mode): boolean {
  if (isAlnum(c)) return false;
  if ((mode === Mode.Host || mode === Mode.Zone) && `!$&'()*+,;=:[]<>"`.includes(c)) return false;
  if ('-_.~'.includes(c)) return false;
  if ('$&+,/:;=?@'.includes(c)) {
    switch (mode) {
      case Mode.Path:
        return c === '?';
      case Mode.UserPassword:
        return c === '@' || c === '/' || c === '?' || c === ':';
      case Mode.QueryComponent:
        return true;
      case Mode.Fragment:
        return false;
      default:
        break;
    }
  }
  if (mode === Mode.Fragment && '!()*'.includes(c)) return false;
  return true;
}

function unescape(s: string, mode: Mode): string {
  for (let i = 0; i < s.length; ) {
    const c = s[i] as string;
    if (c === '%') {
      if (i + 2 >= s.length || !isHex(s[i + 1]) || !isHex(s[i + 2])) {
        throw new Error(`invalid URL escape ${JSON.stringify(fromBytes(s.slice(i, i + 3)))}`);
      }
      const seq = s.slice(i, i + 3);
      // Hosts may only %-escape non-ASCII bytes, except %25 in IPv6 zones (RFC 6874).
      if (mode === Mode.Host && unhex(s[i + 1] as string) < 8 && seq !== '%25') {
        throw new Error(`invalid URL escape ${JSON.stringify(seq)}`);
      }
      if (mode === Mode.Zone) {
        const v = String.fromCharCode(unhex(seq.slice(1)));
        if (seq !== '%25' && v !== ' ' && shouldEscape(v, Mode.Host)) {
          throw new Error(`invalid URL escape ${JSON.stringify(seq)}`);
        }
      }
      i += 3;
    } else {
      if ((mode === Mode.Host || mode === Mode.Zone) && c.charCodeAt(0) < 0x80 && shouldEscape(c, mode)) {
        throw new Error(`invalid character ${JSON.stringify(c)} in host name`);
      }
      i++;
    }
  }
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '%') {
      out += String.fromCharCode(unhex(s.slice(i + 1, i + 3)));
      i += 2;
    } else if (c === '+' && mode === Mode.QueryComponent) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

function escape(s: string, mode: Mode): string {
  let out = '';
  for (const c of s) {
    if (!shouldEscape(c, mode)) out += c;
    else if (c === ' ' && mode === Mode.QueryComponent) out += '+';
    else out += `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function validEncoded(s: string, mode: Mode): boolean {
  for (const c of s) {
    if (`!$&'()*+,;=:@[]%`.includes(c)) continue;
    if (shouldEscape(c, mode)) return false;
  }
  return true;
}

function validOptionalPort(port: string): boolean {
  return port === '' || /^:[0-9]*$/.test(port);
}

function validUserinfo(s: string): boolean {
  return /^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(s);
}

function getScheme(raw: string): [string, string] {
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) continue;
    if ((c >= '0' && c <= '9') || c === '+' || c === '-' || c === '.') {
      if (i === 0) return ['', raw];
      continue;
    }
    if (c === ':') {
      if (i === 0) throw new Error('missing protocol scheme');
      return [raw.slice(0, i), raw.slice(i + 1)];
    }
    return ['', raw];
  }
  return ['', raw];
}

function parseHost(host: string): string {
  if (host.startsWith('[')) {
    const i = host.lastIndexOf(']');
    if (i < 0) throw new Error("missing ']' in host");
    const colonPort = host.slice(i + 1);
    if (!validOptionalPort(colonPort)) throw new Error(`invalid port ${JSON.stringify(colonPort)} after host`);
    const zone = host.slice(0, i).indexOf('%25');
    if (zone >= 0) {
      return unescape(host.slice(0, zone), Mode.Host) + unescape(host.slice(zone, i), Mode.Zone) + unescape(host.slice(i), Mode.Host);
    }
  } else {
    const i = host.lastIndexOf(':');
    if (i >= 0) {
      const colonPort = host.slice(i);
      if (!validOptionalPort(colonPort)) throw new Error(`invalid port ${JSON.stringify(fromBytes(colonPort))} after host`);
    }
  }
  return unescape(host, Mode.Host);
}

function parseAuthority(authority: string): { user: string; host: string } {
  const at = authority.lastIndexOf('@');
  const host = parseHost(at < 0 ? authority : authority.slice(at + 1));
  if (at < 0) return { user: '', host };
  const userinfo = authority.slice(0, at);
  if (!validUserinfo(userinfo)) throw new Error('net/url: invalid userinfo');
  // Validate the escapes as Go does; the raw form is kept.
  const colon = userinfo.indexOf(':');
  if (colon < 0) unescape(userinfo, Mode.UserPassword);
  else {
    unescape(userinfo.slice(0, colon), Mode.UserPassword);
    unescape(userinfo.slice(colon + 1), Mode.UserPassword);
  }
  return { user: userinfo, host };
}

type Mutable = { -readonly [K in keyof ParsedURL]: ParsedURL[K] };

function parse(rawURL: string, viaRequest: boolean): Mutable {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(rawURL)) throw new Error('net/url: invalid control character in URL');
  if (rawURL === '' && viaRequest) throw new Error('empty url');
  const url: Mutable = { scheme: '', opaque: '', user: '', host: '', path: '', rawPath: '', forceQuery: false, rawQuery: '', fragment: '' };
  if (rawURL === '*') {
    url.path = '*';
    return url;
  }
  const [scheme, afterScheme] = getScheme(rawURL);
  let rest = afterScheme;
  url.scheme = scheme.toLowerCase();
  if (rest.endsWith('?') && rest.split('?').length === 2) {
    url.forceQuery = true;
    rest = rest.slice(0, -1);
  } else {
    const q = rest.indexOf('?');
    if (q >= 0) {
      url.rawQuery = rest.slice(q + 1);
      rest = rest.slice(0, q);
    }
  }
  if (!rest.startsWith('/')) {
    if (url.scheme !== '') {
      // Rootless paths are opaque (RFC 3986).
      url.opaque = rest;
      return url;
    }
    if (viaRequest) throw new Error('invalid URI for request');
    const slash = rest.indexOf('/');
    const segment = slash < 0 ? rest : rest.slice(0, slash);
    if (segment.includes(':')) throw new Error('first path segment in URL cannot contain colon');
  }
  if ((url.scheme !== '' || (!viaRequest && !rest.startsWith('///'))) && rest.startsWith('//')) {
    let authority = rest.slice(2);
    rest = '';
    const slash = authority.indexOf('/');
    if (slash >= 0) {
      rest = authority.slice(slash);
      authority = authority.slice(0, slash);
    }
    const { user, host } = parseAuthority(authority);
    url.user = user;
    url.host = host;
  }
  url.path = unescape(rest, Mode.Path);
  url.rawPath = escape(url.path, Mode.Path) === rest ? '' : rest;
  return url;
}

function decode(u: Mutable): ParsedURL {
  return {
    scheme: fromBytes(u.scheme),
    opaque: fromBytes(u.opaque),
    user: fromBytes(u.user),
    host: fromBytes(u.host),
    path: fromBytes(u.path),
    rawPath: fromBytes(u.rawPath),
    forceQuery: u.forceQuery,
    rawQuery: fromBytes(u.rawQuery),
    fragment: fromBytes(u.fragment),
  };
}

/** Go's url.ParseRequestURI: an absolute URI or an absolute path; no fragment splitting. */
export function parseRequestURI(raw: string): ParsedURL {
  return decode(parse(toBytes(raw), true));
}

/** Go's url.Parse. */
export function parseURL(raw: string): ParsedURL {
  const bytes = toBytes(raw);
  const hash = bytes.indexOf('#');
  const u = parse(hash < 0 ? bytes : bytes.slice(0, hash), false);
  if (hash >= 0) u.fragment = unescape(bytes.slice(hash + 1), Mode.Fragment);
  return decode(u);
}

/** Go's URL.EscapedPath. */
export function escapedPath(u: ParsedURL): string {
  const path = toBytes(u.path);
  const rawPath = toBytes(u.rawPath);
  if (rawPath !== '' && validEncoded(rawPath, Mode.Path)) {
    try {
      if (unescape(rawPath, Mode.Path) === path) return u.rawPath;
    } catch {
      // Fall through to escaping the decoded path.
    }
  }
  if (path === '*') return '*';
  return fromBytes(escape(path, Mode.Path));
}

/** Go's URL.Hostname / URL.Port split of the host. */
export function splitHostPort(hostPort: string): { hostname: string; port: string } {
  let host = hostPort;
  let port = '';
  const colon = host.lastIndexOf(':');
  if (colon >= 0 && validOptionalPort(host.slice(colon))) {
    port = host.slice(colon + 1);
    host = host.slice(0, colon);
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { hostname: host, port };
}

/** Go's URL.Query (url.ParseQuery, errors ignored): key → values in order of appearance. */
export function parseQuery(rawQuery: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of toBytes(rawQuery).split('&')) {
    if (part === '' || part.includes(';')) continue;
    const eq = part.indexOf('=');
    let key: string;
    let value: string;
    try {
      key = fromBytes(unescape(eq < 0 ? part : part.slice(0, eq), Mode.QueryComponent));
      value = fromBytes(unescape(eq < 0 ? '' : part.slice(eq + 1), Mode.QueryComponent));
    } catch {
      continue;
    }
    const list = out.get(key);
    if (list === undefined) out.set(key, [value]);
    else list.push(value);
  }
  return out;
}

/** Go's URL.String, for turning a URL value back into JSON. */
export function formatURL(u: ParsedURL): string {
  let s = '';
  if (u.scheme !== '') s += `${u.scheme}:`;
  if (u.opaque !== '') {
    s += u.opaque;
  } else {
    if (u.scheme !== '' || u.host !== '' || u.user !== '') {
      if (u.host !== '' || u.path !== '' || u.user !== '') s += '//';
      if (u.user !== '') s += `${u.user}@`;
      s += fromBytes(escape(toBytes(u.host), Mode.Host));
    }
    const path = escapedPath(u);
    if (path !== '' && !path.startsWith('/') && u.host !== '') s += '/';
    s += path;
  }
  if (u.forceQuery || u.rawQuery !== '') s += `?${u.rawQuery}`;
  if (u.fragment !== '') s += `#${fromBytes(escape(toBytes(u.fragment), Mode.Fragment))}`;
  return s;
}

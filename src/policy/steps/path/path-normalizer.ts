import { badPath } from '../../../errors/gateway-error';
import { lookalikeDelimiter } from './lookalike';

/** How each raw ASCII character is handled (SPEC §5.1). */
const CharKind = {
  /** Kept as-is; cannot start a dot segment or `//` on its own. */
  Plain: 0,
  /** `/`, `.` and `%`: may need the full normalization pass. */
  Special: 1,
  /** Legal on the wire but not in a path: re-emitted percent-encoded so raw and encoded forms compare equal. */
  Encode: 2,
  /** Never acceptable raw: controls, `\` (a separator on some upstreams), `?` and `#` (must be split off already). */
  Reject: 3,
} as const;

const HEX = '0123456789ABCDEF';

/** Indexed by char code 0x00–0x7F; controls and DEL are Reject. */
const CHAR_KIND = buildCharKinds();
/** Indexed by byte 0x00–0x7F: true for RFC 3986 unreserved (ALPHA / DIGIT / - . _ ~). */
const UNRESERVED = buildUnreserved();

function buildUnreserved(): Uint8Array {
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) {
    const ch = String.fromCharCode(c);
    if (/[A-Za-z0-9\-._~]/.test(ch)) table[c] = 1;
  }
  return table;
}

function buildCharKinds(): Uint8Array {
  const table = new Uint8Array(128).fill(CharKind.Reject);
  for (let c = 0x20; c < 0x7f; c++) {
    const ch = String.fromCharCode(c);
    if (/[A-Za-z0-9\-_~!$&'()*+,;=:@]/.test(ch)) table[c] = CharKind.Plain;
    else if (ch === '/' || ch === '.' || ch === '%') table[c] = CharKind.Special;
    else if (ch === '\\' || ch === '?' || ch === '#') table[c] = CharKind.Reject;
    else table[c] = CharKind.Encode;
  }
  return table;
}

/**
 * SPEC §5.1 and §18's look-alike characters. `rawPath` is the request path after the `/api` prefix, without the query string;
 * `''` means `/`. Returns the canonical path that is authorized and forwarded, or throws
 * `badPath` (400 `bad_path`).
 */
export function normalizePath(rawPath: string): string {
  if (rawPath.length === 0) return '/';
  // A path not starting with `/` means the prefix was glued to it (`/apiv1/x`): never guess.
  if (rawPath.charCodeAt(0) !== 0x2f) throw badPath('The path must start with "/".');
  return isAlreadyCanonical(rawPath) ? rawPath : removeDotSegments(decodePath(rawPath));
}

/** Fast path: only plain characters, no `%`, and no `/` followed by `/` or `.`. */
function isAlreadyCanonical(path: string): boolean {
  for (let i = 1; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c >= 0x80) return false;
    const kind = CHAR_KIND[c];
    if (kind === CharKind.Plain) continue;
    if (kind !== CharKind.Special || c === 0x25) return false;
    if (path.charCodeAt(i - 1) === 0x2f) return false; // `//` or a segment starting with `.`
  }
  return true;
}

/**
 * Decodes escapes of unreserved characters, upper-cases the hex of the others, encodes raw
 * characters that are not legal in a path, and rejects everything SPEC §5.1 forbids.
 */
function decodePath(path: string): string {
  let out = '';
  let utf8 = UTF8_IDLE;
  let codePoint = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x25) {
      const byte = hexByte(path, i + 1);
      i += 2;
      if (byte >= 0x80) {
        codePoint = utf8 === UTF8_IDLE ? byte & (byte >= 0xf0 ? 0x07 : byte >= 0xe0 ? 0x0f : 0x1f) : (codePoint << 6) | (byte & 0x3f);
        utf8 = nextUtf8State(utf8, byte);
        if (utf8 === UTF8_IDLE) rejectLookalike(codePoint);
        out += '%' + HEX[byte >> 4] + HEX[byte & 15];
        continue;
      }
      if (utf8 !== UTF8_IDLE) throw badPath('Percent-encoded bytes must form valid UTF-8.');
      if (UNRESERVED[byte] === 1) out += String.fromCharCode(byte);
      else out += escapeAscii(byte);
      continue;
    }
    if (utf8 !== UTF8_IDLE) throw badPath('Percent-encoded bytes must form valid UTF-8.');
    if (c >= 0x80) throw badPath('Non-ASCII characters must be percent-encoded.');
    const kind = CHAR_KIND[c];
    if (kind === CharKind.Reject) throw badPath(rejectedRawReason(c));
    out += kind === CharKind.Encode ? '%' + HEX[c >> 4] + HEX[c & 15] : path[i];
  }
  if (utf8 !== UTF8_IDLE) throw badPath('Percent-encoded bytes must form valid UTF-8.');
  rejectDoubleEncoding(out);
  return out;
}

/** SPEC §18: a percent-encoded character that an upstream may read as a delimiter is refused. */
function rejectLookalike(codePoint: number): void {
  const reads = lookalikeDelimiter(codePoint);
  if (reads === undefined) return;
  const name = 'U+' + codePoint.toString(16).toUpperCase().padStart(4, '0');
  throw badPath(`The path contains ${name}, which an upstream may read as "${reads}".`);
}

/** Parses the two hex digits after a `%`; throws on a truncated or non-hex escape. */
function hexByte(path: string, at: number): number {
  const hi = hexValue(path.charCodeAt(at));
  const lo = hexValue(path.charCodeAt(at + 1));
  if (hi < 0 || lo < 0) throw badPath('The path has an invalid percent-encoding.');
  return (hi << 4) | lo;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1; // also NaN (past the end of the string)
}

/** Re-emits an encoded ASCII byte that is not unreserved, or throws when SPEC §5.1 forbids it. */
function escapeAscii(byte: number): string {
  if (byte === 0x2f) throw badPath('An encoded slash (%2F) is not allowed in the path.');
  if (byte === 0x5c) throw badPath('An encoded backslash (%5C) is not allowed in the path.');
  if (byte < 0x20 || byte === 0x7f) throw badPath('Control characters are not allowed in the path.');
  return '%' + HEX[byte >> 4] + HEX[byte & 15];
}

function rejectedRawReason(c: number): string {
  if (c === 0x5c) return 'A backslash is not allowed in the path.';
  if (c === 0x3f || c === 0x23) return 'The path must not contain "?" or "#".';
  return 'Control characters are not allowed in the path.';
}

/**
 * `%25` followed by two hex digits (`%252e`) is a double encoding: rejected so that an upstream
 * that decodes twice can never see a dot segment or slash this gateway did not authorize.
 */
function rejectDoubleEncoding(decoded: string): void {
  for (let i = decoded.indexOf('%25'); i >= 0; i = decoded.indexOf('%25', i + 3)) {
    if (hexValue(decoded.charCodeAt(i + 3)) >= 0 && hexValue(decoded.charCodeAt(i + 4)) >= 0) {
      throw badPath('Double percent-encoding is not allowed in the path.');
    }
  }
}

/*
 * Strict UTF-8 (Unicode Table 3-7) over percent-encoded bytes: overlong forms such as
 * %C0%AE ('.') and %C0%AF ('/'), surrogates and truncated sequences are rejected, so no
 * upstream decoder can turn them into a dot segment or separator. The state packs the number
 * of continuation bytes still expected with the allowed range of the next one.
 */
const UTF8_IDLE = 0;

function utf8State(remaining: number, lo: number, hi: number): number {
  return (remaining << 16) | (lo << 8) | hi;
}

function nextUtf8State(state: number, byte: number): number {
  if (state !== UTF8_IDLE) {
    const remaining = state >> 16;
    if (byte < ((state >> 8) & 0xff) || byte > (state & 0xff)) {
      throw badPath('Percent-encoded bytes must form valid UTF-8.');
    }
    return remaining === 1 ? UTF8_IDLE : utf8State(remaining - 1, 0x80, 0xbf);
  }
  if (byte >= 0xc2 && byte <= 0xdf) return utf8State(1, 0x80, 0xbf);
  if (byte === 0xe0) return utf8State(2, 0xa0, 0xbf);
  if (byte === 0xed) return utf8State(2, 0x80, 0x9f);
  if (byte >= 0xe1 && byte <= 0xef) return utf8State(2, 0x80, 0xbf);
  if (byte === 0xf0) return utf8State(3, 0x90, 0xbf);
  if (byte >= 0xf1 && byte <= 0xf3) return utf8State(3, 0x80, 0xbf);
  if (byte === 0xf4) return utf8State(3, 0x80, 0x8f);
  throw badPath('Percent-encoded bytes must form valid UTF-8.');
}

/**
 * RFC 3986 §5.2.4 on an already decoded path, merging empty segments; a final `.`, `..` or `/`
 * leaves a trailing slash. Climbing above `/` is an error rather than clamped (SPEC §5.1).
 */
function removeDotSegments(decoded: string): string {
  const input = decoded.split('/');
  const kept: string[] = [];
  let trailingSlash = false;
  for (let i = 1; i < input.length; i++) {
    const segment = input[i];
    const isLast = i === input.length - 1;
    if (isDotSegmentWithParams(segment)) throw badPath('A dot segment with ";" parameters is not allowed.');
    if (segment === '..') {
      if (kept.length === 0) throw badPath('The path climbs above the root.');
      kept.pop();
    } else if (segment !== '.' && segment !== '') {
      kept.push(segment);
    }
    if (isLast) trailingSlash = segment === '' || segment === '.' || segment === '..';
  }
  if (kept.length === 0) return '/';
  return trailingSlash ? '/' + kept.join('/') + '/' : '/' + kept.join('/');
}

/** `..;x` and `.;x` are kept literal by RFC 3986 but read as `..` / `.` by servlet containers. */
function isDotSegmentWithParams(segment: string): boolean {
  if (segment.charCodeAt(0) !== 0x2e) return false;
  const params = segment.indexOf(';');
  return params === 1 || (params === 2 && segment.charCodeAt(1) === 0x2e);
}

/**
 * SPEC §18, look-alike characters: a non-ASCII code point an upstream may read as a path delimiter.
 * Unicode NFKC folds the fullwidth and small forms (U+FF0F "／", U+FE52 "﹒", U+037E ";"), and a few
 * more compose delimiters with letters (U+2100 "℀" is "a/c"). Some slashes that NFKC leaves alone
 * are listed by hand: they are the usual stand-ins for "/" and "\" in bypass catalogues, and an
 * upstream that maps confusables (or a font a human reviews logs in) reads them as separators.
 */

/** What the path must never gain after NFKC: separators, dot segments, parameters, query, fragment, escapes. */
const DELIMITERS = /[/\\.;?#%]/;

/** Division slash, fraction slash, big (reverse) solidus, set minus, the diagonals of math and box drawing. */
const SLASH_LIKE: ReadonlyMap<number, string> = new Map([
  [0x2215, '/'],
  [0x2044, '/'],
  [0x29f8, '/'],
  [0x27cb, '/'],
  [0x2571, '/'],
  [0x29f9, '\\'],
  [0x2216, '\\'],
  [0x27cd, '\\'],
  [0x2572, '\\'],
]);

/**
 * The delimiter `codePoint` (non-ASCII) may be read as, or undefined when it reads as none.
 * Runs only for percent-encoded non-ASCII characters, which are rare: nothing is cached.
 */
export function lookalikeDelimiter(codePoint: number): string | undefined {
  const byHand = SLASH_LIKE.get(codePoint);
  if (byHand !== undefined) return byHand;
  const folded = String.fromCodePoint(codePoint).normalize('NFKC');
  return DELIMITERS.exec(folded)?.[0];
}

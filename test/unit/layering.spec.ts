import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/*
 * The layout's import rules, read from the source itself so they stay true. The core is config,
 * errors, observability, store, tenants, policy (and lifecycle, the process's drain state); the
 * HTTP edge sits on it, and the two planes sit on both and never on each other. Type-only imports
 * count too: a type is a dependency on the code that declares it.
 */

const SRC = resolve(__dirname, '../../src');
const CORE = ['errors', 'config', 'observability', 'store', 'tenants', 'policy', 'lifecycle'];

/** Each folder of src/ and the folders it may import from (besides itself). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  errors: [],
  config: ['errors'],
  observability: ['errors', 'config'],
  lifecycle: ['errors', 'config', 'observability'],
  store: ['errors', 'config', 'observability'],
  tenants: ['errors', 'config', 'observability', 'store'],
  policy: ['errors', 'config', 'observability', 'store', 'tenants'],
  http: CORE,
  'data-plane': [...CORE, 'http'],
  'control-plane': [...CORE, 'http'],
  // The admin CLI is a client of the admin API: it shares only the schemas and types of the core.
  cli: ['errors', 'config', 'tenants'],
  // npm run demo: a client of the built gateway, like any other.
  demo: [],
};

const MAX_LINES = 300;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** The top folder of src/ a file belongs to; files directly in src/ (bootstrap and wiring) are `(root)`. */
function areaOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  return parts.length === 1 ? '(root)' : parts[0];
}

function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)].map((m) => m[1]);
  return specifiers.map((spec) => resolve(dirname(file), spec));
}

const files = sourceFiles(SRC);

describe('source layout', () => {
  it('places every folder of src/ in a layer', () => {
    const areas = new Set(files.map(areaOf));
    areas.delete('(root)');
    expect([...areas].filter((area) => !(area in MAY_IMPORT))).toEqual([]);
  });

  it.each(Object.keys(MAY_IMPORT))('%s imports only from the layers below it', (area) => {
    const allowed = new Set([area, ...MAY_IMPORT[area]]);
    const violations = files
      .filter((file) => areaOf(file) === area)
      .flatMap((file) =>
        relativeImports(file)
          .filter((target) => !allowed.has(areaOf(target)))
          .map((target) => `${relative(SRC, file)} imports ${relative(SRC, target)}`),
      );
    expect(violations).toEqual([]);
  });

  it('keeps the two planes apart: neither imports the other', () => {
    expect(MAY_IMPORT['data-plane']).not.toContain('control-plane');
    expect(MAY_IMPORT['control-plane']).not.toContain('data-plane');
  });

  it(`has no source file over ${MAX_LINES} lines`, () => {
    const long = files
      .map((file) => ({ file: relative(SRC, file), lines: readFileSync(file, 'utf8').split('\n').length }))
      .filter(({ lines }) => lines > MAX_LINES);
    expect(long).toEqual([]);
  });
});

'use strict';
/*
 * `npm start` runs this first (prestart): it exits 0 when dist/main.js exists and is newer than every
 * file it is built from (src/ and the TypeScript and Nest configuration), so the 7-15 s build runs
 * only on the first start and after a change; otherwise it exits 1 and prestart builds. Run it from
 * the repository root; it reads nothing else and writes nothing.
 */
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

const OUTPUT = join('dist', 'main.js');
const INPUTS = ['tsconfig.json', 'tsconfig.build.json', 'nest-cli.json'];

function newestInput() {
  const files = [...INPUTS.filter((file) => existsSync(file))];
  if (existsSync('src')) {
    for (const entry of readdirSync('src', { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) files.push(join(entry.parentPath ?? entry.path, entry.name));
    }
  }
  return Math.max(0, ...files.map((file) => statSync(file).mtimeMs));
}

const current = existsSync(OUTPUT) && statSync(OUTPUT).mtimeMs >= newestInput();
if (!current) process.stderr.write(`${OUTPUT} is missing or older than its sources: building\n`);
process.exit(current ? 0 : 1);

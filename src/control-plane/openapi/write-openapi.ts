import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { openApiText } from './operations';

/** `npm run openapi`: writes the committed copy of the document, docs/openapi.json (or the path given). */
const target = resolve(process.argv[2] ?? 'docs/openapi.json');
writeFileSync(target, openApiText());
process.stdout.write(`wrote ${target}\n`);

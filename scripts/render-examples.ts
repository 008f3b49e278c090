/**
 * Rewrites the golden Nomad jobs in `jobspecs/examples/` from `test/fixtures/nomad/golden-specs.ts`
 * (`npm run render:examples`). Review the diff: a changed file is a changed translation.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { translateJob } from '../src/scheduler/nomad/translate.js';
import { GOLDEN_EXAMPLES } from '../test/fixtures/nomad/golden-specs.js';

const dir = fileURLToPath(new URL('../jobspecs/examples/', import.meta.url));
mkdirSync(dir, { recursive: true });
for (const example of GOLDEN_EXAMPLES) {
  const file = path.join(dir, `${example.name}.json`);
  writeFileSync(file, `${JSON.stringify({ Job: translateJob(example.input) }, null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { asyncApiYaml } from './asyncapi-document.ts';

// `pnpm run docs` (plain `pnpm docs` is pnpm's own command, which opens a package's home page).
// The generator lives in its own module so test/asyncapi.unit.spec.ts can compare without writing.
const target = fileURLToPath(new URL('../docs/asyncapi.yaml', import.meta.url));
writeFileSync(target, asyncApiYaml());
console.log(`wrote ${target}`);

// The compiled engine: dist/engine.mjs (the CLI: start, migrate, rebuild, ...) and the projection
// worker thread beside it, bundled by esbuild (tsx's own compiler) with their dependencies: pnpm
// keeps each package's dependencies beside it, out of reach of a file in dist/. PGlite stays
// outside (it loads its WebAssembly from beside its own module), imported from the root's.
// `node scripts/build.mjs --if-needed` builds only when a source is newer than the build. Plain
// JavaScript, so that `pnpm start` checks the build without loading a TypeScript compiler first;
// `pnpm install` builds it (postinstall), so the first `pnpm start` need not.
import { mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'dist');
const ENTRIES = {
  engine: join(ROOT, 'packages/api/src/cli.ts'),
  'projection-worker': join(ROOT, 'packages/api/src/projection/projection-worker.ts'),
  'replay-thread': join(ROOT, 'packages/projector/src/rebuild/replay-thread.ts'),
};

/** The newest modification time under the packages' sources and the lockfile. */
const newestSource = () => {
  let newest = statSync(join(ROOT, 'pnpm-lock.yaml')).mtimeMs;
  for (const pkg of readdirSync(join(ROOT, 'packages'))) {
    const walk = (dir) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else newest = Math.max(newest, statSync(path).mtimeMs);
      }
    };
    walk(join(ROOT, 'packages', pkg, 'src'));
  }
  return newest;
};

const builtAt = () => {
  try {
    return Math.min(
      ...Object.keys(ENTRIES).map((name) => statSync(join(OUT, `${name}.mjs`)).mtimeMs),
    );
  } catch {
    return 0;
  }
};

if (!(process.argv.includes('--if-needed') && builtAt() > newestSource())) {
  // Loaded only to build: `pnpm start` checks the build on every start.
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: ENTRIES,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    outdir: OUT,
    outExtension: { '.js': '.mjs' },
    sourcemap: true,
    external: ['@electric-sql/pglite', '@electric-sql/pglite/*', 'pg-native'],
    // Bundled CommonJS (pg, prom-client) requires Node's modules at run time.
    banner: {
      js: "import { createRequire as __engineRequire } from 'node:module'; const require = __engineRequire(import.meta.url);",
    },
    write: false,
    logLevel: 'warning',
  });
  // Written aside and renamed: an engine starting meanwhile never loads half a file.
  mkdirSync(OUT, { recursive: true });
  for (const file of result.outputFiles) {
    writeFileSync(`${file.path}.tmp`, file.contents);
    renameSync(`${file.path}.tmp`, file.path);
  }
  process.stderr.write(
    `built ${Object.keys(ENTRIES)
      .map((name) => `dist/${name}.mjs`)
      .join(', ')}\n`,
  );
}

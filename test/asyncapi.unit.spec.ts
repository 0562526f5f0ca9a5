import { readFileSync } from 'node:fs';
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import { callbackDataSchemas, requestSchemas } from '@im/domain';
import { describe, expect, it } from 'vitest';
import { asyncApiYaml } from '../scripts/asyncapi-document.ts';

const onDisk = readFileSync(new URL('../docs/asyncapi.yaml', import.meta.url), 'utf8');

describe('docs/asyncapi.yaml', () => {
  it('is what the zod schemas generate now', () => {
    // toBe would print two documents thousands of lines long: name the first line that differs.
    const generated = asyncApiYaml().split('\n');
    const lines = onDisk.split('\n');
    const differs = Array.from(
      { length: Math.max(generated.length, lines.length) },
      (_, i) => i,
    ).find((i) => generated[i] !== lines[i]);
    expect(
      differs === undefined ? undefined : `line ${differs + 1} differs`,
      'docs/asyncapi.yaml is stale: run pnpm run docs',
    ).toBeUndefined();
  });

  it('is a valid AsyncAPI document covering every method and callback', async () => {
    const { document, diagnostics } = await new Parser().parse(onDisk);
    const errors = diagnostics
      .filter((diagnostic) => diagnostic.severity === DiagnosticSeverity.Error)
      .map((diagnostic) => `${diagnostic.path.join('.')}: ${diagnostic.message}`);
    expect(errors).toEqual([]);
    const operations =
      document
        ?.operations()
        .all()
        .map((operation) => operation.id()) ?? [];
    expect(operations.sort()).toEqual(
      [...Object.keys(requestSchemas), ...Object.keys(callbackDataSchemas)].sort(),
    );
  });
});

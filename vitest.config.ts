import { defineConfig } from 'vitest/config';

const services = {
  globalSetup: ['test/support/global-setup.ts'],
  testTimeout: 60_000,
  hookTimeout: 60_000,
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          // test/asyncapi.unit.spec.ts checks docs/asyncapi.yaml: no services, so not e2e.
          include: ['packages/*/src/**/*.unit.spec.ts', 'test/**/*.unit.spec.ts'],
        },
      },
      { test: { name: 'int', include: ['packages/*/src/**/*.int.spec.ts'], ...services } },
      // Engines under test share two cores: one file at a time keeps timings honest.
      {
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e.spec.ts'],
          fileParallelism: false,
          ...services,
        },
      },
    ],
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    // Real tools (pw.x, pacemaker, MACE training) take tens of seconds; timing lives in bench/, not here.
    testTimeout: 15 * 60_000,
    hookTimeout: 20 * 60_000,
    reporters: ['default', ['json', { outputFile: '.vitest-results.json' }]],
  },
});

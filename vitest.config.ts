import os from 'node:os';
import { defineConfig } from 'vitest/config';

// Tests make their run directories under the system's temporary directory: allow it as a run root
// (host/paths.ts runRoots) for the test processes and everything they start.
process.env.AUTOPIPE_RUN_ROOTS ??= os.tmpdir();

// Two tiers. `unit`: pure tests (no server, no tool run), under a minute, run first. `tools`: everything
// on real tools (pw.x, pacemaker, MACE, a real Temporal dev server started by the global setup).
export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', ['json', { outputFile: process.env.VITEST_JSON ?? '.vitest-results.json' }]],
    projects: [
      {
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 60_000 },
      },
      {
        test: {
          name: 'tools',
          include: ['test/**/*.test.ts'],
          exclude: ['test/unit/**'],
          globalSetup: ['test/global-setup.ts'],
          // Real tools (pw.x, pacemaker, MACE training) take tens of seconds; timing lives in bench/, not here.
          testTimeout: 15 * 60_000,
          hookTimeout: 20 * 60_000,
        },
      },
    ],
  },
});

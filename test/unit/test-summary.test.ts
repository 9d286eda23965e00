// scripts/test-summary.mjs prints the line CI reads; a red tier must never add up to "0 failed".
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const script = path.resolve('scripts/test-summary.mjs');
const summary = (files: Record<string, unknown>): string => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'summary-'));
  for (const [name, body] of Object.entries(files)) writeFileSync(path.join(dir, name), typeof body === 'string' ? body : JSON.stringify(body));
  return execFileSync('node', [script, ...Object.keys(files)], { cwd: dir, encoding: 'utf8' }).trim();
};

describe('test summary line', () => {
  it('counts a suite whose beforeAll threw (its tests skipped, none failed) as one failure', () => {
    const vitest = {
      numPassedTests: 5, numFailedTests: 0, numPendingTests: 2, numTodoTests: 0,
      testResults: [
        { status: 'passed', assertionResults: [{ status: 'passed' }] },
        { status: 'failed', assertionResults: [{ status: 'skipped' }, { status: 'skipped' }] },
      ],
    };
    expect(summary({ '.vitest-results.json': vitest })).toBe('5 passed, 1 failed, 2 skipped');
  });

  it('does not count a suite twice when its failures are failed tests', () => {
    const vitest = {
      numPassedTests: 1, numFailedTests: 2, numPendingTests: 0, numTodoTests: 0,
      testResults: [{ status: 'failed', assertionResults: [{ status: 'failed' }, { status: 'failed' }, { status: 'passed' }] }],
    };
    expect(summary({ '.vitest-results.json': vitest })).toBe('1 passed, 2 failed');
  });

  it('counts a suite that failed to load (no tests at all) and a missing report', () => {
    const vitest = { numPassedTests: 0, numFailedTests: 0, testResults: [{ status: 'failed', assertionResults: [] }] };
    expect(summary({ '.vitest-results.json': vitest, '.lint-results.json': { checks: 3, failed: 0 } })).toBe('3 passed, 1 failed');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'summary-'));
    expect(execFileSync('node', [script, '.vitest-unit.json'], { cwd: dir, encoding: 'utf8' }).trim()).toBe('0 passed, 1 failed');
  });
});

// Prints "N passed, N failed[, N skipped]" from vitest's JSON report; a missing report (install or
// start-up failed) counts as one failure so CI never reads it as green.
import { existsSync, readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.vitest-results.json';
if (!existsSync(file)) {
  console.log('0 passed, 1 failed');
  process.exit(0);
}
const r = JSON.parse(readFileSync(file, 'utf8'));
const failedSuites = (r.testResults ?? []).filter((s) => s.status === 'failed' && (s.assertionResults ?? []).length === 0).length;
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
console.log(`${r.numPassedTests ?? 0} passed, ${(r.numFailedTests ?? 0) + failedSuites} failed${skipped ? `, ${skipped} skipped` : ''}`);

// Prints "N passed, N failed[, N skipped]" over every tier's report: lint (.lint-results.json: each of
// eslint, tsc, ruff is one check), vitest unit (.vitest-unit.json), pytest (.pytest-results.xml) and the
// real-tool vitest run (.vitest-results.json). A missing report (install or start-up failed, or a tier
// never ran) counts as one failure, so CI never reads it as green.
import { existsSync, readFileSync } from 'node:fs';

const tiers = process.argv.slice(2).length ? process.argv.slice(2) : ['.lint-results.json', '.vitest-unit.json', '.pytest-results.xml', '.vitest-results.json'];
let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of tiers) {
  if (!existsSync(file)) {
    failed += 1;
    continue;
  }
  const text = readFileSync(file, 'utf8');
  if (file.endsWith('.xml')) {
    const attr = (name) => [...text.matchAll(new RegExp(`<testsuite\\b[^>]*\\b${name}="(\\d+)"`, 'g'))].reduce((s, m) => s + Number(m[1]), 0);
    const bad = attr('failures') + attr('errors');
    skipped += attr('skipped');
    passed += attr('tests') - bad - attr('skipped');
    failed += bad;
  } else if (file.includes('lint')) {
    const r = JSON.parse(text);
    passed += r.checks - r.failed;
    failed += r.failed;
  } else {
    const r = JSON.parse(text);
    // A suite that failed outside its tests (a beforeAll that threw skips every test in it) has no failed
    // assertion to count: it counts as one failure itself.
    const failedSuites = (r.testResults ?? []).filter((s) => s.status === 'failed' && !(s.assertionResults ?? []).some((a) => a.status === 'failed')).length;
    passed += r.numPassedTests ?? 0;
    failed += (r.numFailedTests ?? 0) + failedSuites;
    skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  }
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);

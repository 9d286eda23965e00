// Which generation a finished campaign hands over, by the fixed noise margin and by the paired comparison
// (common/validation.ts bestGeneration): every generation's potential scored structure by structure on
// the run's final validation set, then, for each generation as the latest, the choice by both rules.
//
//   npx tsx bench/hand-over-rule.ts RUN_DIR [--out RESULT.json] [--curve CURVE.json ...]
//
// --curve: bench/learning-curve.ts results of the same run on independent test sets; each choice is
// printed with the chosen generation's test-set figures. The run itself went on from its own choices
// (exploration and refits start from the potential kept), so this replays the choice among the
// potentials it fitted, not the campaign a different rule would have run.
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { evaluatePotential } from '../activities/evaluation/evaluate';
import { perStructureErrors } from '../activities/evaluation/validation';
import type { LearningCurve } from '../common/evaluation';
import { bestGeneration, type ScoredGeneration } from '../common/validation';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { out: { type: 'string' }, curve: { type: 'string', multiple: true } } });
const runDir = positionals[0];
if (!runDir) throw new Error('usage: npx tsx bench/hand-over-rule.ts RUN_DIR [--out RESULT.json] [--curve CURVE.json ...]');
const vdir = path.join(runDir, 'validation');
const own = JSON.parse(readFileSync(path.join(vdir, 'learning-curve.json'), 'utf8')) as LearningCurve;
// The final set: the last generation's export (validation/gen-N.extxyz).
const last = Math.max(...readdirSync(vdir).map((f) => /^gen-(\d+)\.extxyz$/.exec(f)).filter((m) => m).map((m) => Number(m![1])));
const setFile = path.join(vdir, `gen-${last}.extxyz`);
const work = mkdtempSync(path.join(os.tmpdir(), 'autopipe-handover-'));

const points: ScoredGeneration[] = [];
for (const p of own.points) {
  const r = await evaluatePotential({ potential: p.potential, data: setFile, workDir: path.join(work, `gen-${p.generation}`), results: path.join(work, `gen-${p.generation}`, 'rows.json') });
  points.push({ generation: p.generation, overall: r.overall, per_structure: perStructureErrors(r.results) });
}
const curves = (values.curve ?? []).map((f) => JSON.parse(readFileSync(f, 'utf8')) as { testSet: string; points: { generation: number; variant: string; chosen?: boolean; forces_rmse_mev_a: number; energy_rmse_mev_atom_offset: number }[] });
const onTests = (g: number) =>
  curves.map((c) => {
    const q = c.points.find((x) => x.generation === g && x.chosen !== false);
    return { testSet: path.basename(c.testSet), forces_rmse_mev_a: q?.forces_rmse_mev_a, energy_rmse_mev_atom_offset: q?.energy_rmse_mev_atom_offset };
  });
const f = (x?: number, k = 1) => (x === undefined ? 'n/a' : x.toFixed(k));
const rows = points
  .filter((p) => p.generation > 0)
  .map((p) => {
    const upTo = points.filter((q) => q.generation <= p.generation);
    const margin = bestGeneration(upTo, p.generation).generation;
    const paired = bestGeneration(upTo, p.generation, { paired: true });
    return { latest: p.generation, margin, paired: paired.generation, intervals: paired.paired, tests: { margin: onTests(margin), paired: onTests(paired.generation) } };
  });
console.log(`${runDir}: ${points[0]?.per_structure?.ids.length ?? 0} validation structures (${setFile})`);
for (const p of points) console.log(`  generation ${p.generation}: ${f(p.overall.forces_rmse_mev_a)} meV/Å, ${f(p.overall.energy_rmse_mev_atom_offset, 2)} meV/atom`);
for (const r of rows) {
  const t = (xs: ReturnType<typeof onTests>) => xs.map((x) => `${x.testSet} ${f(x.forces_rmse_mev_a)} / ${f(x.energy_rmse_mev_atom_offset, 2)}`).join(', ');
  console.log(`latest ${r.latest}: margin rule -> ${r.margin}${curves.length ? ` (${t(r.tests.margin)})` : ''}; paired -> ${r.paired}${curves.length ? ` (${t(r.tests.paired)})` : ''}`);
  for (const [g, d] of Object.entries(r.intervals)) console.log(`    ${g} minus ${r.latest}: forces ${f(d.forces.diff)} [${f(d.forces.lo)}, ${f(d.forces.hi)}] meV/Å, energy ${f(d.energy.diff, 2)} [${f(d.energy.lo, 2)}, ${f(d.energy.hi, 2)}] meV/atom`);
}
if (values.out) {
  const command = `npx tsx bench/hand-over-rule.ts ${process.argv.slice(2).join(' ')}`;
  writeFileSync(values.out, JSON.stringify({ command, date: new Date().toISOString(), runDir: path.resolve(runDir), validationSet: setFile, points: points.map((p) => ({ generation: p.generation, overall: { forces_rmse_mev_a: p.overall.forces_rmse_mev_a, energy_rmse_mev_atom_offset: p.overall.energy_rmse_mev_atom_offset } })), choices: rows }, null, 1));
}

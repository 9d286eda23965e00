// Does the teacher earn its place? The same campaign's DFT labels fitted with and without the teacher's
// labels and surrogates (at the weights the campaign gave them), from scratch with the campaign's own
// training settings, all scored on the same independent test set, beside the campaign's own potentials.
//
//   npx tsx bench/teacher-ablation.ts RUN_DIR TESTSET.extxyz [--maxiter N] [--functions N] [--kappa K] [--out RESULT.json]
//
// --maxiter, --functions and --kappa override the campaign's training settings for every variant (same for all).
//
// Equal DFT calls by construction: every variant trains on every DFT label the campaign paid for (the
// teacher's seed labels included, validation labels excluded); the variants differ only in the teacher's
// data added. This isolates what the teacher's labels do to the fit; which structures the campaign chose
// to label (exploration with a better or worse potential) is not ablated here. When the validation gate set
// the teacher aside, the variant dft+all-teacher-labels adds every label it had made, at teacher.label_weight:
// whether the gate was right, on the independent test set.
//
// The data come from the run's store (store.sqlite, the one source of labels), as two exports: every DFT
// label outside the validation set (the variant "dft"), and the campaign's training set (exact labels and
// weights), whose teacher labels and surrogates bench/teacher_ablation_data.py adds to it.
import { execa } from 'execa';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fitAce } from '../activities/ace/fit';
import { evaluatePotential } from '../activities/evaluation/evaluate';
import { exportDataset } from '../activities/store/datasets';
import { CampaignSchema } from '../common/campaign-schema';
import { runLayout } from '../common/run-layout';
import { projectRoot, pythonExe, pythonPath } from '../host/paths';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { maxiter: { type: 'string' }, functions: { type: 'string' }, kappa: { type: 'string' }, out: { type: 'string' } } });
if (positionals.length !== 2) {
  console.error('usage: npx tsx bench/teacher-ablation.ts RUN_DIR TESTSET.extxyz [--maxiter N] [--functions N] [--kappa K] [--out RESULT.json]');
  process.exit(2);
}
const [runDir, testSet] = positionals.map((p) => path.resolve(p!)) as [string, string];
const campaign = CampaignSchema.parse((JSON.parse(readFileSync(path.join(runDir, 'campaign.resolved.json'), 'utf8')) as { campaign: unknown }).campaign);
const work = path.join(runDir, 'bench', `teacher-ablation${values.functions ? `-f${values.functions}` : ''}${values.maxiter ? `-i${values.maxiter}` : ''}${values.kappa ? `-k${values.kappa}` : ''}`);
mkdirSync(work, { recursive: true });

const dataDir = path.join(work, 'datasets');
// Every DFT label the campaign paid for: an export by filter leaves the validation structures out.
const dft = await exportDataset({ runDir, name: 'dft', outDir: dataDir, formats: ['pckl'], filter: {}, oracles: ['dft'] });
// The set every ACE fit of the campaign reads (workflows/ace-refit.ts TRAINING_SET): the teacher's labels at its weights.
const trained = await exportDataset({ runDir, name: 'campaign-training', outDir: dataDir, formats: ['pckl'], sets: ['training'] });
// Every label the teacher made (outside the validation set), trained on or not: what a teacher the gate set aside would have done.
const everyTeacherLabel = await exportDataset({ runDir, name: 'teacher-all', outDir: dataDir, formats: ['pckl'], filter: {}, oracles: [campaign.teacher.kind] });
const allArgs = everyTeacherLabel.count > 0 ? [everyTeacherLabel.pckl!, String(campaign.teacher.label_weight)] : [];
const data = await execa(pythonExe, [path.join(projectRoot, 'bench', 'teacher_ablation_data.py'), dft.pckl!, trained.pckl!, dataDir, ...allArgs], { env: { PYTHONPATH: pythonPath } });
const sets = JSON.parse(data.stdout.trim().split('\n').pop()!) as { counts: Record<string, number>; files: Record<string, string>; weights: Record<string, number[]>; teacher_with_dft: number };
console.log(
  `DFT labels ${sets.counts.dft} (${dft.heldOut} held out: the validation set), teacher labels ${sets.counts.teacher}` +
    `${sets.teacher_with_dft ? ` (${sets.teacher_with_dft} more left out: their structures have a DFT label)` : ''}, surrogates ${sets.counts.surrogates}` +
    `${sets.counts.all_teacher_labels ? `, every teacher label (trained on or not) ${sets.counts.all_teacher_labels}` : ''}; weights ${JSON.stringify(sets.weights)}`,
);

const maxiter = values.maxiter ? Number(values.maxiter) : campaign.training.maxiter;
// Every label trains (the test set is independent): Pacemaker's own split would drop DFT labels.
const training = { ...campaign.training, test_size: 0, ...(values.functions ? { number_of_functions_per_element: Number(values.functions) } : {}), ...(values.kappa ? { kappa: Number(values.kappa) } : {}) };
const rows: { variant: string; structures: number; potential: string; E: number | null; Eoff: number; F: number; S: number | null; by_group: Record<string, { Eoff: number; F: number }> }[] = [];
const score = async (variant: string, potential: string, structures: number) => {
  const r = await evaluatePotential({ potential, data: testSet, workDir: path.join(work, 'eval', variant) });
  rows.push({
    variant,
    structures,
    potential,
    E: r.energyScale === 'absolute' ? r.overall.energy_rmse_mev_atom : null,
    Eoff: r.overall.energy_rmse_mev_atom_offset,
    F: r.overall.forces_rmse_mev_a,
    S: r.overall.stress_rmse_gpa,
    by_group: Object.fromEntries(Object.entries(r.by_group).map(([g, m]) => [g, { Eoff: m.energy_rmse_mev_atom_offset, F: m.forces_rmse_mev_a }])),
  });
};

const gens = readdirSync(path.join(runDir, 'potentials')).filter((d) => /^gen-\d+$/.test(d)).sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
const last = gens.at(-1)!;
await score(`campaign ${last} (as run)`, path.join(runDir, 'potentials', last, 'potential.yaml'), NaN);
for (const [variant, file] of Object.entries(sets.files)) {
  console.log(`fitting ${variant} (${maxiter} iterations from scratch)`);
  const fit = await fitAce({ outDir: path.join(work, 'fits', variant), datasetFile: file, elements: campaign.system.elements, training, seed: campaign.seed, maxiter, activeSet: false });
  await score(variant, fit.potentialYaml, fit.metrics.train_structures);
}

const groups = [...new Set(rows.flatMap((r) => Object.keys(r.by_group)))].sort();
console.log(`\n${path.basename(runDir)} on ${path.basename(testSet)}: energies meV/atom, forces meV/Å`);
const table = [
  ['variant', 'structures', 'E RMSE', 'E-off RMSE', 'F RMSE', ...groups.map((g) => `F ${g}`)],
  ...rows.map((r) => [r.variant, Number.isNaN(r.structures) ? '-' : String(r.structures), r.E === null ? '-' : r.E.toFixed(2), r.Eoff.toFixed(2), r.F.toFixed(1), ...groups.map((g) => r.by_group[g]?.F.toFixed(1) ?? '-')]),
];
const w = table[0]!.map((_, i) => Math.max(...table.map((t) => t[i]!.length)));
table.forEach((t) => console.log(t.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ')));
if (values.out) {
  writeFileSync(values.out, JSON.stringify({ command: `npx tsx bench/teacher-ablation.ts ${process.argv.slice(2).join(' ')}`, date: new Date().toISOString(), runDir, testSet, maxiter, functions: training.number_of_functions_per_element, kappa: training.kappa, counts: sets.counts, weights: sets.weights, rows }, null, 1));
  console.log(`written ${values.out}`);
}

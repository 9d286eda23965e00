// A foundation teacher (CHGNet, or SevenNet-0 with --model sevennet), zero-shot against fine-tuned, on an
// independent DFT test set (issue 15). Fine-tunes with the very activity a campaign's teacher fine-tune runs
// (fineTuneChgnet: reference refit, chgnet's own trainer; fineTuneSevennet: reference folded into the model,
// a plain torch loop) at the campaign file's teacher.finetune settings, on a fixed set of DFT labels made
// by the project's oracle (`autopipe label dft`), and scores both models with `autopipe evaluate`'s library
// function on the test set (labelled by ASE's Espresso calculator, never by the project's oracle).
//
//   npx tsx bench/chgnet-finetune.ts --campaign examples/si-pbe.yaml --train a.extxyz,b.extxyz \
//       --test bench/testsets/si-pbe.extxyz --out bench/results/chgnet-finetune-si-pbe.json [--epochs N] [--lr X]
//       [--energy-weight W]   (defaults: the campaign file's teacher.finetune) [--model chgnet|sevennet]
// Zero-shot SevenNet-0 is scored with its energy reference fitted on the same training labels (absolute
// energies, as a zero-shot campaign teacher); zero-shot CHGNet on its own scale (offset errors only).
//
// Training labels: extxyz with REF_energy/REF_forces/REF_stress (what `autopipe label dft` writes).
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { deriveCampaign } from '../activities/campaign/heuristics';
import { fineTuneChgnet, fineTuneSevennet } from '../activities/mace/foundation-finetune';
import { fitSevennetReference } from '../activities/mace/sevennet-reference';
import { evaluatePotential, type EvaluateResult } from '../activities/evaluation/evaluate';
import { loadCampaignFile } from '../cli/campaign-file';

const { values: a } = parseArgs({
  options: {
    campaign: { type: 'string' },
    train: { type: 'string' },
    test: { type: 'string' },
    out: { type: 'string' },
    epochs: { type: 'string' },
    lr: { type: 'string' },
    'energy-weight': { type: 'string' },
    seed: { type: 'string', default: '11' },
    model: { type: 'string', default: 'chgnet' },
    work: { type: 'string' },
  },
});
if (!a.campaign || !a.train || !a.test || !a.out || !['chgnet', 'sevennet'].includes(a.model!)) {
  console.error('usage: npx tsx bench/chgnet-finetune.ts --campaign C.yaml --train a.extxyz[,b.extxyz] --test T.extxyz --out R.json [--epochs N] [--lr X] [--energy-weight W] [--seed S] [--model chgnet|sevennet]');
  process.exit(2);
}
const loaded = loadCampaignFile(a.campaign);
if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
const derived = deriveCampaign(loaded.raw);
if (!derived.ok) throw new Error(derived.errors.join('\n'));
const ft = derived.campaign.teacher.finetune;
const epochs = a.epochs ? Number(a.epochs) : ft.max_epochs;
const lr = a.lr ? Number(a.lr) : ft.lr;
const energyWeight = a['energy-weight'] ? Number(a['energy-weight']) : ft.energy_weight;

const work = a.work ?? mkdtempSync(path.join(os.tmpdir(), 'autopipe-bench-chgnet-'));
mkdirSync(work, { recursive: true });
const trainFiles = a.train.split(',').filter(Boolean);
const trainFile = path.join(work, 'train.extxyz');
writeFileSync(trainFile, trainFiles.map((f) => readFileSync(f, 'utf8')).join(''));
const nTrain = (readFileSync(trainFile, 'utf8').match(/Lattice=/g) ?? []).length;

const summary = (r: EvaluateResult) => ({
  energy_scale: r.energyScale,
  evaluated: r.evaluated,
  flagged: r.flagged.length,
  overall: pick(r.overall),
  by_config_type: Object.fromEntries(Object.entries(r.by_group).map(([k, m]) => [k, pick(m)])),
});
function pick(m: EvaluateResult['overall']) {
  return {
    n: m.n_structures,
    forces_rmse_mev_a: round(m.forces_rmse_mev_a),
    forces_ref_rms_mev_a: round(m.forces_ref_rms_mev_a),
    energy_rmse_mev_atom_offset: round(m.energy_rmse_mev_atom_offset),
    energy_rmse_mev_atom: round(m.energy_rmse_mev_atom),
    stress_rmse_gpa: m.stress_rmse_gpa === null ? null : round(m.stress_rmse_gpa, 3),
  };
}
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

const t0 = Date.now();
const model = a.model as 'chgnet' | 'sevennet';
const name = model === 'chgnet' ? 'CHGNet' : 'SevenNet-0';
const fineTune = model === 'chgnet' ? fineTuneChgnet : fineTuneSevennet;
const tuned = await fineTune({ output: path.join(work, `${model}.pt`), trainFile, seed: Number(a.seed), maxEpochs: epochs, lr, energyWeight });
const fineTuneSeconds = (Date.now() - t0) / 1000;
const zeroShotSpec = model === 'chgnet' ? 'chgnet' : `sevennet:${(await fitSevennetReference({ dataset: trainFile, output: path.join(work, 'sevennet-reference.json') })).reference}`;
const zeroShot = await evaluatePotential({ potential: zeroShotSpec, data: a.test, workDir: path.join(work, 'eval-zero-shot'), title: `${name} zero-shot` });
const fineTuned = await evaluatePotential({ potential: `${model}:${tuned.model}`, data: a.test, workDir: path.join(work, 'eval-fine-tuned'), title: `${name} fine-tuned` });
const result = {
  command: `npx tsx bench/chgnet-finetune.ts ${process.argv.slice(2).join(' ')}`,
  date: new Date().toISOString(),
  campaign: a.campaign,
  model,
  test_set: a.test,
  train_files: trainFiles,
  train_structures: nTrain,
  finetune: { epochs, lr, energy_weight: energyWeight, seed: Number(a.seed), split: { train: tuned.train, valid: tuned.valid }, reference_shift_ev_atom: tuned.referenceShift, energy_rmse_train_before_shift_mev_atom: round(tuned.energyRmseBeforeShift), energy_rmse_train_after_shift_mev_atom: round(tuned.energyRmseAfterShift), wall_seconds: round(fineTuneSeconds), reused: tuned.reused ?? false },
  zero_shot: summary(zeroShot),
  fine_tuned: summary(fineTuned),
  note: 'wall times on the shared 2-core machine under load (indicative only)',
};
mkdirSync(path.dirname(path.resolve(a.out)), { recursive: true });
writeFileSync(a.out, `${JSON.stringify(result, null, 1)}\n`);
const line = (name: string, s: ReturnType<typeof summary>) =>
  `${name.padEnd(11)} forces ${s.overall.forces_rmse_mev_a} meV/Å, energy (offset) ${s.overall.energy_rmse_mev_atom_offset} meV/atom, energy (absolute) ${s.overall.energy_rmse_mev_atom} meV/atom`;
console.log(line('zero-shot', result.zero_shot));
console.log(line('fine-tuned', result.fine_tuned));
for (const k of Object.keys(result.zero_shot.by_config_type)) {
  const z = result.zero_shot.by_config_type[k]!;
  const f = result.fine_tuned.by_config_type[k]!;
  console.log(`  ${k.padEnd(9)} forces ${z.forces_rmse_mev_a} -> ${f.forces_rmse_mev_a} meV/Å, energy (offset) ${z.energy_rmse_mev_atom_offset} -> ${f.energy_rmse_mev_atom_offset} meV/atom`);
}
console.log(`-> ${a.out}`);

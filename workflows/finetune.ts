// Phase 4, incremental fine-tuning: fine-tune each teacher member on the new DFT labels, adopt the tuned
// committee only if it describes *all* DFT labels so far better than the old one (a fine-tune on a few
// structures can forget), perturb the new DFT structures into surrogates labelled by a validated
// committee, and refit ACE from the previous potential on DFT labels + surrogates + replayed history.
import { setCurrentDetails } from './progress';
import type { DatasetEntry } from '../activities/store/datasets';
import type { FitResult } from '../activities/ace/fit';
import type { Campaign } from '../common/campaign-schema';
import { control, ml } from './activity-options';
import { runLayout } from '../common/run-layout';

export interface FinetuneInput {
  runDir: string;
  campaign: Campaign;
  generation: number;
  teacherModels: string[];
  newDft: DatasetEntry[];
  previousPotential: string;
}

export interface TeacherScore {
  rmse_energy_mev_atom: number;
  rmse_forces_mev_a: number;
}

export interface FinetuneResult {
  teacherModels: string[];
  teacherAdopted: boolean;
  scores: { before: TeacherScore; after: TeacherScore; dftLabels: number };
  surrogates: number;
  surrogateNote?: string;
  trainingSet: number;
  replayed: number;
  history: number;
  fit: Pick<FitResult, 'potentialYaml' | 'yace' | 'asi' | 'metrics'>;
}

const score = (s: { rmse_energy_mev_atom: number; rmse_forces_mev_a: number }): TeacherScore => ({
  rmse_energy_mev_atom: s.rmse_energy_mev_atom,
  rmse_forces_mev_a: s.rmse_forces_mev_a,
});

export async function finetuneWorkflow(input: FinetuneInput): Promise<FinetuneResult> {
  const { runDir, campaign: c, generation: g } = input;
  const t = c.teacher;
  const run = runLayout(runDir);
  const dir = run.maceGeneration(g);
  const history = await control.appendDftHistory({ runDir, generation: g, entries: input.newDft });
  const allDft = await control.writeDataset({ workDir: run.datasetsDir, entries: await control.readDftHistory({ runDir }), extxyz: run.dataset(`dft-all-gen-${g}.extxyz`) });
  const newSet = await control.writeDataset({ workDir: run.datasetsDir, entries: input.newDft, extxyz: run.dataset(`gen-${g}-dft.extxyz`) });

  setCurrentDetails(`MACE fine-tuning of ${input.teacherModels.length} member(s) on ${input.newDft.length} DFT labels`);
  const tuned = await Promise.all(
    input.teacherModels.map((m, i) =>
      ml.fineTuneMace({
        outDir: dir,
        name: `member-${i}-gen-${g + 1}`,
        foundationModel: m,
        trainFile: newSet.extxyz!,
        seed: c.seed + 17 * (g + 1) + i,
        maxEpochs: t.finetune.max_epochs,
        lr: t.finetune.lr,
        replayFile: t.finetune.replay_file,
        validFraction: 0.2,
      }),
    ),
  );
  const before = score(await ml.maceScore({ models: input.teacherModels, dataset: allDft.extxyz!, workDir: dir }));
  const after = score(await ml.maceScore({ models: tuned.map((x) => x.model), dataset: allDft.extxyz!, workDir: dir }));
  const adopted = after.rmse_energy_mev_atom <= before.rmse_energy_mev_atom * 1.1 && after.rmse_forces_mev_a <= before.rmse_forces_mev_a * 1.1;
  const teacherModels = adopted ? tuned.map((x) => x.model) : input.teacherModels;
  const chosen = adopted ? after : before;

  const surrogateEntries: DatasetEntry[] = [];
  let surrogateNote: string | undefined;
  if (t.surrogates.per_structure === 0) surrogateNote = 'teacher.surrogates.per_structure is 0';
  else if (chosen.rmse_energy_mev_atom > t.surrogates.max_teacher_error_mev_atom) {
    surrogateNote = `no surrogates: the committee's energy RMSE on all ${history.total} DFT labels is ${chosen.rmse_energy_mev_atom.toFixed(1)} meV/atom, above teacher.surrogates.max_teacher_error_mev_atom (${t.surrogates.max_teacher_error_mev_atom})`;
  } else {
    setCurrentDetails('surrogates from the new DFT structures');
    const sur = await control.makeSurrogates({
      runDir,
      name: `gen-${g}`,
      parents: input.newDft.map((e) => ({ structure_file: e.structure_file, index: e.index, id: e.name })),
      perStructure: t.surrogates.per_structure,
      rattleSigma: t.surrogates.rattle_sigma,
      strainMax: t.surrogates.strain_max,
      seed: c.seed + 31 * (g + 1),
      minDistance: c.generation.min_distance,
    });
    for (let start = 0; start < sur.ids.length; start += t.batch_size) {
      const ids = sur.ids.slice(start, start + t.batch_size);
      const batch = await ml.maceLabelBatch({ runDir, structureFile: sur.output, start, ids, oracle: { kind: t.kind, models: teacherModels, device: t.device } });
      batch.items.forEach((it, j) => {
        // Surrogates are only as good as the teacher: keep the ones the committee agrees on.
        const confident = !it.flag && (it.fStd === undefined || it.fStd <= t.accept_threshold);
        if (confident) surrogateEntries.push({ structure_file: sur.output, index: start + j, label_file: `${batch.labelDir}/${it.id}.json`, name: it.id });
      });
    }
  }

  setCurrentDetails('incremental ACE refit');
  // This generation's new data (DFT labels + weighted surrogates) joins the replay history; the training
  // set is all of it plus a seeded sample of the history up to training.replay_buffer_size.
  const fresh = await control.assembleTrainingSet({ runDir, name: `gen-${g + 1}-new`, dft: input.newDft, surrogates: surrogateEntries, surrogateWeight: t.surrogates.weight });
  const ts = await ml.buildTrainingSet({
    historyFile: run.aceHistory,
    newDataset: fresh.pckl,
    trainingFile: run.dataset(`gen-${g + 1}-training.pckl.gzip`),
    bufferSize: c.training.replay_buffer_size,
    seed: c.seed + g + 1,
    generation: g + 1,
    strategy: c.training.replay_selection,
    potential: input.previousPotential,
  });
  const fit = await ml.fitAce({
    outDir: run.potential(g + 1),
    datasetFile: ts.trainingFile,
    elements: c.system.elements,
    training: c.training,
    seed: c.seed + g + 1,
    initialPotential: input.previousPotential,
  });
  return {
    teacherModels,
    teacherAdopted: adopted,
    scores: { before, after, dftLabels: history.total },
    surrogates: surrogateEntries.length,
    surrogateNote,
    trainingSet: ts.counts.training,
    replayed: ts.counts.replayed,
    history: ts.counts.history,
    fit: { potentialYaml: fit.potentialYaml, yace: fit.yace, asi: fit.asi, metrics: fit.metrics },
  };
}

// The teacher's life cycle as workflows:
//   teacherBootstrapWorkflow  seed structures -> DFT labels -> a small MACE committee (different seeds)
//   teacherFinetuneWorkflow   new DFT labels -> fine-tuned committee (one new model per member and
//                             generation) -> surrogates labelled by it -> weighted training set
// The labelling and routing workflows live in mace-batches.ts and tiered-oracle.ts (re-exported here).
import { ApplicationFailure, executeChild, workflowInfo } from '@temporalio/workflow';
import { reportCounts, setCurrentDetails } from './progress';
import type { MaceScore } from '../activities/mace/label';
import type { TrainingSetResult } from '../activities/mace/surrogates';
import { parseCampaign, type CampaignInput } from '../common/campaign-schema';
import { NonRetryableErrors } from '../common/errors';
import { control, ml } from './activity-options';
import { labellingWorkflow } from './labelling';
import { fastOracle, invalidConfig, labelInBatches, parseTeacher } from './mace-batches';
import { runLayout } from '../common/run-layout';

export { maceLabelWorkflow, type MaceLabelInput, type MaceLabelResult } from './mace-batches';
export { tieredOracleWorkflow, type TieredOracleInput, type TieredOracleResult } from './tiered-oracle';

export interface TeacherBootstrapInput {
  runDir: string;
  campaign: CampaignInput;
}

export interface TeacherBootstrapResult {
  models: string[];
  seeds: number[];
  record: string;
  dataset: string;
  /** The seed structures (extxyz with structure_id in each frame's info). */
  structuresFile: string;
  structures: number;
  labelled: number;
  failed: number;
  trainingScore: MaceScore;
  wallSeconds: number[];
  /** The seed DFT labels, for callers that keep a DFT history (the campaign). */
  dftEntries: { structure_file: string; index: number; label_file: string; name: string }[];
}

export async function teacherBootstrapWorkflow(input: TeacherBootstrapInput): Promise<TeacherBootstrapResult> {
  const parsed = parseCampaign(input.campaign);
  if (!parsed.ok) throw invalidConfig(`invalid campaign:\n${parsed.errors.join('\n')}`);
  const c = parsed.campaign;
  const b = c.teacher.bootstrap;
  const dir = runLayout(input.runDir).teacherBootstrap;
  setCurrentDetails(`generating ${b.seed_structures} seed structures`);
  const made = await control.makeStructures({
    runDir: input.runDir,
    name: 'teacher-seed',
    system: c.system,
    count: b.seed_structures,
    rattleSigma: c.generation.rattle_sigma,
    volumeRange: c.generation.volume_range,
    minDistance: c.generation.min_distance,
    seed: c.seed,
  });
  setCurrentDetails(`labelling ${made.ids.length} seed structures with the DFT oracle`);
  const labels = await executeChild(labellingWorkflow, {
    workflowId: `${workflowInfo().workflowId}/dft`,
    args: [{ runDir: input.runDir, dft: c.dft, structureFile: made.output, ids: made.ids, minDistance: c.generation.min_distance }],
  });
  if (labels.labelled < 4) {
    throw ApplicationFailure.create({
      type: NonRetryableErrors.TrainingFailed,
      nonRetryable: true,
      message: `only ${labels.labelled} of ${made.ids.length} seed structures got DFT labels (${labels.failed} failed): a committee needs at least 4; see ${runLayout(input.runDir).dftRoot}`,
    });
  }
  const dftEntries = labels.labels.map((l) => ({ structure_file: made.output, index: l.index, label_file: l.labelFile, name: l.structureId }));
  const ds = await control.writeDataset({ workDir: dir, entries: dftEntries, extxyz: `${dir}/seed.extxyz` });
  setCurrentDetails(`training ${b.members} committee members`, { done: 0, total: b.members, unit: 'members' });
  const seeds = Array.from({ length: b.members }, (_, k) => c.seed + 1 + 1000 * k);
  let membersDone = 0;
  const trained = await Promise.all(
    seeds.map((seed, k) =>
      ml.trainMace({
        outDir: dir,
        name: `member-${k}`,
        trainFile: ds.extxyz!,
        seed,
        maxEpochs: b.max_epochs,
        hiddenIrreps: b.hidden_irreps,
        rMax: b.r_max,
        batchSize: 2,
        validFraction: 0.2,
        energyWeight: 10,
      }).then((m) => (reportCounts({ done: ++membersDone }), m)),
    ),
  );
  const models = trained.map((m) => m.model);
  const trainingScore = await ml.maceScore({ models, dataset: ds.extxyz!, workDir: dir });
  const record = await control.recordTeacher({
    runDir: input.runDir,
    name: 'bootstrap',
    kind: 'bootstrap',
    generation: 0,
    models,
    seeds,
    details: { dataset: ds.extxyz, structures: made.output, dftLabels: labels.labelled, dftFailed: labels.failed, trainingScore, maxEpochs: b.max_epochs, hiddenIrreps: b.hidden_irreps, rMax: b.r_max },
  });
  return {
    models,
    seeds,
    record: record.file,
    dataset: ds.extxyz!,
    structuresFile: made.output,
    structures: made.ids.length,
    labelled: labels.labelled,
    failed: labels.failed,
    trainingScore,
    wallSeconds: trained.map((m) => m.wallSeconds),
    dftEntries,
  };
}

export interface DftLabelRefLite {
  structureId: string;
  structureFile: string;
  index: number;
  labelFile: string;
}

export interface TeacherFinetuneInput {
  runDir: string;
  generation: number;
  teacher: unknown;
  /** The committee to start from (the foundation files); default: teacher.models. */
  models?: string[];
  /** The new DFT labels to fine-tune on. */
  dftLabels: DftLabelRefLite[];
  /** Further DFT labels never trained on, scored before and after (an honest error estimate). */
  holdout?: DftLabelRefLite[];
  seed: number;
  minDistance?: number;
}

export interface TeacherFinetuneResult {
  models: string[];
  mode: 'naive' | 'multihead';
  record: string;
  before: MaceScore;
  after: MaceScore;
  holdoutBefore: MaceScore | null;
  holdoutAfter: MaceScore | null;
  surrogates: { made: number; kept: number; dropped: number; file: string | null };
  trainingSet: TrainingSetResult;
}

export async function teacherFinetuneWorkflow(input: TeacherFinetuneInput): Promise<TeacherFinetuneResult> {
  const t = parseTeacher(input.teacher);
  if (t.kind !== 'mace') throw invalidConfig('teacher.kind is chgnet: only MACE teachers are fine-tuned here (use a MACE committee)');
  const foundations = fastOracle(t, input.models).models;
  if (input.dftLabels.length === 0) throw invalidConfig('fine-tuning needs new DFT labels: dftLabels is empty');
  const gen = input.generation;
  const dir = runLayout(input.runDir).teacherGeneration(gen);
  const entries = (refs: DftLabelRefLite[]) => refs.map((l) => ({ structure_file: l.structureFile, index: l.index, label_file: l.labelFile, name: l.structureId }));
  const ds = await control.writeDataset({ workDir: dir, entries: entries(input.dftLabels), extxyz: `${dir}/finetune.extxyz` });
  const hold = input.holdout?.length ? await control.writeDataset({ workDir: dir, entries: entries(input.holdout), extxyz: `${dir}/holdout.extxyz` }) : undefined;
  const before = await ml.maceScore({ models: foundations, dataset: ds.extxyz!, workDir: dir });
  const holdoutBefore = hold ? await ml.maceScore({ models: foundations, dataset: hold.extxyz!, workDir: dir }) : null;

  setCurrentDetails(`fine-tuning ${foundations.length} models on ${input.dftLabels.length} new DFT labels`);
  const tuned = await Promise.all(
    foundations.map((foundationModel, k) =>
      ml.fineTuneMace({
        outDir: dir,
        name: `member-${k}`,
        foundationModel,
        trainFile: ds.extxyz!,
        seed: input.seed + 1 + 1000 * k,
        maxEpochs: t.finetune.max_epochs,
        lr: t.finetune.lr,
        energyWeight: t.finetune.energy_weight,
        e0s: t.finetune.e0s,
        replayFile: t.finetune.replay_file,
      }),
    ),
  );
  const models = tuned.map((x) => x.model);
  const after = await ml.maceScore({ models, dataset: ds.extxyz!, workDir: dir });
  const holdoutAfter = hold ? await ml.maceScore({ models, dataset: hold.extxyz!, workDir: dir }) : null;

  // Surrogates: perturbed DFT structures labelled by the fine-tuned committee; a committee keeps only the
  // labels it is confident about (accept threshold), a single model keeps every unflagged one.
  const surrogates: TeacherFinetuneResult['surrogates'] = { made: 0, kept: 0, dropped: 0, file: null };
  const kept: { structure_file: string; index: number; label_file: string; name: string }[] = [];
  if (t.surrogates.per_structure > 0) {
    setCurrentDetails('generating and labelling surrogates');
    const made = await control.makeSurrogates({
      runDir: input.runDir,
      name: `gen-${gen}`,
      parents: input.dftLabels.map((l) => ({ structure_file: l.structureFile, index: l.index, id: l.structureId })),
      perStructure: t.surrogates.per_structure,
      rattleSigma: t.surrogates.rattle_sigma,
      strainMax: t.surrogates.strain_max,
      seed: input.seed + gen,
      minDistance: input.minDistance,
    });
    surrogates.made = made.ids.length;
    surrogates.file = made.output;
    const committee = models.length > 1;
    await labelInBatches(
      { runDir: input.runDir, structureFile: made.output, ids: made.ids, oracle: { kind: 'mace', models, device: t.device }, batchSize: t.batch_size, what: 'surrogate' },
      (res, start) => {
        res.items.forEach((it, j) => {
          const ok = !it.flag && (!committee || (typeof it.fStd === 'number' && it.fStd <= t.accept_threshold));
          if (ok) kept.push({ structure_file: made.output, index: start + j, label_file: `${res.labelDir}/${it.id}.json`, name: it.id });
          else surrogates.dropped++;
        });
      },
    );
    kept.sort((a, b) => a.index - b.index);
    surrogates.kept = kept.length;
  }
  const trainingSet = await control.assembleTrainingSet({
    runDir: input.runDir,
    name: `gen-${gen}-teacher`,
    dft: entries(input.dftLabels),
    surrogates: kept,
    surrogateWeight: t.surrogates.weight,
  });
  const record = await control.recordTeacher({
    runDir: input.runDir,
    name: `gen-${gen}`,
    kind: 'finetune',
    generation: gen,
    models,
    seeds: foundations.map((_, k) => input.seed + 1 + 1000 * k),
    details: { foundations, mode: tuned[0]!.mode, before, after, holdoutBefore, holdoutAfter, dftLabels: input.dftLabels.length, surrogates, trainingSet: trainingSet.entriesFile },
  });
  return { models, mode: tuned[0]!.mode, record: record.file, before, after, holdoutBefore, holdoutAfter, surrogates, trainingSet };
}

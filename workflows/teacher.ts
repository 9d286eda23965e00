// The MACE tier as workflows:
//   maceLabelWorkflow       a structure file labelled by the fast oracle in batches (ml queue)
//   tieredOracleWorkflow    the same, then each structure routed: MACE label kept, DFT, discarded or queued
//   teacherBootstrapWorkflow  seed structures -> DFT labels -> a small MACE committee (different seeds)
//   teacherFinetuneWorkflow   new DFT labels -> fine-tuned committee (one new model per member and
//                             generation) -> surrogates labelled by it -> weighted training set
// State is ids and file references; batches keep every payload small.
import { ApplicationFailure, executeChild, proxyActivities, setCurrentDetails, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { MlActivities } from '../activities';
import type { LabelItem, MaceLabelBatchResult, MaceScore } from '../activities/mace-label';
import type { TrainingSetResult } from '../activities/mace-surrogates';
import type { RoutingDecision, TieredOracleSummary } from '../activities/tiered-oracle';
import { DftSchema, formatIssues, parseCampaign, TeacherSchema, type CampaignInput, type TeacherSettings } from '../common/campaign-schema';
import { NonRetryableErrors, nonRetryableErrorTypes } from '../common/errors';
import { TaskQueues } from '../common/queues';
import { capDft, route, routingPolicy, uncertaintyOf, type RoutingPolicy, type UncertaintySource } from '../common/tiered-routing';
import { control, ml } from './activity-options';
import { labellingWorkflow, type LabellingResult } from './labelling';
import { slidingWindow } from './window';

// Label batches are short: a stuck one is retried soon instead of after the training timeout.
const batchOptions: ActivityOptions = {
  taskQueue: TaskQueues.ml,
  startToCloseTimeout: '60 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { maximumAttempts: 3, initialInterval: '2s', nonRetryableErrorTypes },
};
const mlBatch = proxyActivities<MlActivities>(batchOptions);

function invalidConfig(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: NonRetryableErrors.InvalidConfig, nonRetryable: true, message });
}

function parseTeacher(raw: unknown): TeacherSettings {
  const r = TeacherSchema.safeParse(raw ?? {});
  if (!r.success) throw invalidConfig(`invalid teacher section:\n${formatIssues(r.error).map((l) => `teacher.${l}`).join('\n')}`);
  return r.data;
}

/** The fast oracle a teacher section names; a MACE teacher without models cannot label anything. */
function fastOracle(t: TeacherSettings, models?: string[]) {
  const list = models ?? t.models;
  if (t.kind === 'mace' && list.length === 0) {
    throw invalidConfig('teacher.models is empty: list one MACE model file, or two or more for a committee (`autopipe teacher bootstrap --config FILE` trains one)');
  }
  return { kind: t.kind, models: t.kind === 'mace' ? list : [], device: t.device };
}

export interface LabelBatchesInput {
  runDir: string;
  structureFile: string;
  ids: string[];
  oracle: { kind: 'mace' | 'chgnet'; models: string[]; device: 'cpu' | 'cuda' };
  batchSize: number;
  /** Batches in flight: 2 keeps the worker's helper busy while the previous reply travels. */
  window?: number;
  what?: string;
}

/** Run the batches; `onBatch` sees each reply (in completion order) with the batch's start index. */
async function labelInBatches(input: LabelBatchesInput, onBatch: (res: MaceLabelBatchResult, start: number, batch: number) => Promise<void> | void) {
  const starts: number[] = [];
  for (let s = 0; s < input.ids.length; s += input.batchSize) starts.push(s);
  let done = 0;
  await slidingWindow(starts, input.window ?? 2, async (start, b) => {
    const res = await mlBatch.maceLabelBatch.executeWithOptions(
      { ...batchOptions, summary: `${input.what ?? 'MACE'} batch ${b + 1}/${starts.length}` },
      [{ runDir: input.runDir, structureFile: input.structureFile, start, ids: input.ids.slice(start, start + input.batchSize), oracle: input.oracle }],
    );
    await onBatch(res, start, b);
    done += res.items.length;
    setCurrentDetails(`${input.what ?? 'MACE'} labelling: ${done}/${input.ids.length} structures`);
  });
}

// ---------------------------------------------------------------------------------------------------
export interface MaceLabelInput {
  runDir: string;
  structureFile: string;
  ids: string[];
  teacher: unknown;
  window?: number;
}

export interface MaceLabelResult {
  labelled: number;
  reused: number;
  flagged: number;
  batches: number;
  labelDir: string;
  oracleKey: string;
  committee: boolean;
  meanForceStd: number | null;
  maxForceStd: number | null;
}

export async function maceLabelWorkflow(input: MaceLabelInput): Promise<MaceLabelResult> {
  const t = parseTeacher(input.teacher);
  const out: MaceLabelResult = { labelled: 0, reused: 0, flagged: 0, batches: 0, labelDir: '', oracleKey: '', committee: false, meanForceStd: null, maxForceStd: null };
  let sum = 0;
  let n = 0;
  await labelInBatches({ runDir: input.runDir, structureFile: input.structureFile, ids: input.ids, oracle: fastOracle(t), batchSize: t.batch_size, window: input.window }, (res) => {
    out.labelled += res.computed;
    out.reused += res.reused;
    out.flagged += res.flagged;
    out.batches++;
    out.labelDir = res.labelDir;
    out.oracleKey = res.oracle.key;
    out.committee = res.oracle.committee;
    for (const it of res.items) {
      if (typeof it.fStd !== 'number') continue;
      sum += it.fStd;
      n++;
      out.maxForceStd = Math.max(out.maxForceStd ?? 0, it.fStd);
    }
  });
  out.meanForceStd = n ? sum / n : null;
  return out;
}

// ---------------------------------------------------------------------------------------------------
export interface TieredOracleInput {
  runDir: string;
  /** Names the routing directory, <runDir>/routing/<name> (e.g. "gen-0-distillation"). */
  name: string;
  structureFile: string;
  /** ids[i] is the structure at index i of structureFile. */
  ids: string[];
  teacher: unknown;
  dft: unknown;
  /** ACE extrapolation grades, one per structure (null = infinite): the uncertainty of a single model. */
  gamma?: (number | null)[];
  /** At most this many structures go to DFT (the most uncertain); the rest of the DFT-bound are queued. */
  dftLimit?: number;
  minDistance?: number;
  window?: number;
  /** Also record the labelled structures and their labels (with the answering engine) in the run's store. */
  store?: { source: string; generation: number };
}

export interface TieredOracleResult extends TieredOracleSummary {
  name: string;
  uncertaintySource: UncertaintySource;
  /** Set when routing had to fall back (single model: routed by ACE gamma); shown in the status. */
  note: string | null;
  policy: RoutingPolicy;
  oracle: { kind: string; key: string; size: number; modelHashes: string[] };
  dft: Pick<LabellingResult, 'labelled' | 'healed' | 'reused' | 'failed'> | null;
  stored: { structures: number; labels: number; byEngine: Record<string, number> } | null;
}

export async function tieredOracleWorkflow(input: TieredOracleInput): Promise<TieredOracleResult> {
  const t = parseTeacher(input.teacher);
  const d = DftSchema.safeParse(input.dft ?? {});
  if (!d.success) throw invalidConfig(`invalid dft section:\n${formatIssues(d.error).map((l) => `dft.${l}`).join('\n')}`);
  const oracle = fastOracle(t);
  const { policy, note } = routingPolicy(t, t.kind === 'chgnet' ? 1 : oracle.models.length, input.gamma?.length, input.ids.length);
  if (note) setCurrentDetails(note);

  const dftCandidates: { id: string; index: number; u: number }[] = [];
  const records: Promise<string>[] = [];
  let oracleInfo: TieredOracleResult['oracle'] | undefined;
  await labelInBatches(
    { runDir: input.runDir, structureFile: input.structureFile, ids: input.ids, oracle, batchSize: t.batch_size, window: input.window, what: 'tiered oracle' },
    (res, start, b) => {
      oracleInfo ??= { kind: res.oracle.kind, key: res.oracle.key, size: res.oracle.size, modelHashes: res.modelHashes };
      const decisions = res.items.map((it: LabelItem, j): RoutingDecision => {
        const index = start + j;
        const gamma = input.gamma?.[index];
        const judged = { fStd: it.fStd, flag: it.flag, gamma };
        const u = uncertaintyOf(judged, policy);
        const r = route(judged, policy);
        if (r === 'dft') dftCandidates.push({ id: it.id, index, u });
        const dec: RoutingDecision = { id: it.id, index, route: r, u: Number.isFinite(u) ? u : null };
        if (it.fStd !== undefined) dec.fStd = it.fStd;
        if (gamma !== undefined) dec.gamma = gamma;
        if (it.flag) dec.flag = it.flag;
        return dec;
      });
      records.push(control.recordRouting({ runDir: input.runDir, name: input.name, batch: b, structureFile: input.structureFile, labelDir: res.labelDir, decisions }));
    },
  );
  await Promise.all(records);

  const { dft: toDft, deferred } = capDft(dftCandidates, input.dftLimit);
  if (deferred.length) await control.deferRouting({ runDir: input.runDir, name: input.name, ids: deferred.map((x) => x.id) });
  let labels: LabellingResult | undefined;
  if (toDft.length) {
    setCurrentDetails(`tiered oracle: ${toDft.length} structures to DFT`);
    const subset = await control.writeStructureSubset({
      structureFile: input.structureFile,
      indices: toDft.map((x) => x.index),
      output: `${input.runDir}/routing/${input.name}/dft-structures.extxyz`,
    });
    labels = await executeChild(labellingWorkflow, {
      workflowId: `${workflowInfo().workflowId}/dft`,
      args: [{ runDir: input.runDir, dft: d.data, structureFile: subset.output, ids: toDft.map((x) => x.id), minDistance: input.minDistance }],
    });
  }
  const summary = await control.finalizeRouting({
    runDir: input.runDir,
    name: input.name,
    policy,
    note,
    oracle: oracleInfo!,
    dft: labels ? { labels: labels.labels.map((l) => ({ structureId: l.structureId, labelFile: l.labelFile })), failures: labels.failures } : undefined,
  });
  const stored = input.store ? await control.storeRouting({ runDir: input.runDir, manifest: summary.manifest, ...input.store }) : null;
  const c = summary.counts;
  setCurrentDetails(`tiered oracle done: ${c.labelledByFastOracle} by ${oracleInfo!.kind}, ${c.labelledByDft} by DFT, ${c.discard} discarded, ${c.queue} queued, ${c.reject} rejected`);
  return {
    ...summary,
    name: input.name,
    uncertaintySource: policy.source,
    note: note ?? null,
    policy,
    oracle: oracleInfo!,
    dft: labels ? { labelled: labels.labelled, healed: labels.healed, reused: labels.reused, failed: labels.failed } : null,
    stored,
  };
}

// ---------------------------------------------------------------------------------------------------
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
  const dir = `${input.runDir}/teacher/bootstrap`;
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
      message: `only ${labels.labelled} of ${made.ids.length} seed structures got DFT labels (${labels.failed} failed): a committee needs at least 4; see ${input.runDir}/dft`,
    });
  }
  const dftEntries = labels.labels.map((l) => ({ structure_file: made.output, index: l.index, label_file: l.labelFile, name: l.structureId }));
  const ds = await control.writeDataset({ workDir: dir, entries: dftEntries, extxyz: `${dir}/seed.extxyz` });
  setCurrentDetails(`training ${b.members} committee members`);
  const seeds = Array.from({ length: b.members }, (_, k) => c.seed + 1 + 1000 * k);
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
      }),
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

// ---------------------------------------------------------------------------------------------------
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
  const dir = `${input.runDir}/teacher/gen-${gen}`;
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

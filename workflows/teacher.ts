// The teacher's life cycle as workflows:
//   teacherBootstrapWorkflow  seed structures -> DFT labels -> a small MACE committee (different seeds),
//                             or CHGNet's or SevenNet-0's wheel weights fine-tuned on them (teacher.kind
//                             chgnet, sevennet; with finetune.max_epochs 0 SevenNet-0 stays zero-shot and
//                             only its energy reference is fitted on them)
//   teacherFinetuneWorkflow   new DFT labels (+ a replay of earlier ones) -> fine-tuned committee (one new
//                             model per member and generation), adopted only if it fits every DFT label
//                             so far at least as well -> surrogates labelled by the committee in use ->
//                             the weighted training set (DFT labels + surrogates)
// Fine-tuning is an improvement step: when it cannot run or does not help, the result keeps the old
// committee and says why; it never fails the caller for that.
// The labelling and routing workflows live in mace-batches.ts and tiered-oracle.ts (re-exported here).
import { ActivityFailure, ApplicationFailure, executeChild, patched, workflowInfo } from '@temporalio/workflow';
import { reportCounts, setCurrentDetails } from './progress';
import type { MaceScore } from '../activities/mace/label';
import type { MemberInput } from '../activities/store/store';
import type { Campaign, CampaignInput } from '../common/campaign-schema';
import { NonRetryableErrors } from '../common/errors';
import { control, ml } from './activity-options';
import { labellingWorkflow } from './labelling';
import { fastOracle, labelInBatches, parseTeacher } from './mace-batches';
import { invalidConfig, parseCampaignOrFail } from './config';
import { runLayout } from '../common/run-layout';

export { maceLabelWorkflow, type MaceLabelInput, type MaceLabelResult } from './mace-batches';
export { tieredOracleWorkflow, type TieredOracleInput, type TieredOracleResult } from './tiered-oracle';

/** A DFT label in the run's store: (structureId, oracle "dft", labelKey). */
export interface DftLabelRefLite {
  structureId: string;
  labelKey: string;
}

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
  /** The seed DFT labels (store keys). */
  dftLabels: DftLabelRefLite[];
  /** A foundation teacher (CHGNet, SevenNet-0) fine-tuned on the seeds; false: zero-shot or a committee. */
  fineTuned?: boolean;
}

/** A foundation teacher's name in the status and decisions. */
const FOUNDATION_NAMES = { chgnet: 'CHGNet', sevennet: 'SevenNet-0' } as const;

/** The campaign's teacher phase, in the status: what the bootstrap of this kind of teacher does. */
export function teacherBootstrapText(t: Pick<Campaign['teacher'], 'kind' | 'finetune'>): string {
  if (t.kind !== 'mace' && t.finetune.max_epochs > 0) return `fine-tuning ${FOUNDATION_NAMES[t.kind]} on DFT labels of seed structures`;
  if (t.kind !== 'mace') return `fitting ${FOUNDATION_NAMES[t.kind]}'s energy reference on DFT labels of seed structures (zero-shot)`;
  return 'bootstrapping the MACE committee from DFT labels';
}

/** The campaign's decision after the teacher phase. */
export function teacherBootstrapDecision(kind: Campaign['teacher']['kind'], t: TeacherBootstrapResult): string {
  const on = `${t.trainingScore.rmse_energy_mev_atom.toFixed(1)} meV/atom, ${t.trainingScore.rmse_forces_mev_a.toFixed(0)} meV/Å on them`;
  // Older CHGNet histories did not record fineTuned: CHGNet's bootstrap always fine-tuned then.
  if (kind === 'chgnet' && t.fineTuned !== false || kind === 'sevennet' && t.fineTuned) return `teacher: ${FOUNDATION_NAMES[kind]} fine-tuned on ${t.labelled} seed DFT labels (${t.failed} failed): ${on}`;
  if (kind !== 'mace') return `teacher: ${FOUNDATION_NAMES[kind]} zero-shot, its energy reference fitted on ${t.labelled} seed DFT labels (${t.failed} failed): ${on}`;
  return `teacher: committee of ${t.models.length} trained on ${t.labelled} seed DFT labels (${t.failed} failed)`;
}

/** What a failed activity or child says, for a recorded decision. */
export function failureText(err: unknown): string {
  let e: unknown = err;
  while (e && !(e instanceof ApplicationFailure) && (e as { cause?: unknown }).cause) e = (e as { cause?: unknown }).cause;
  const m = e instanceof ApplicationFailure ? `${e.type ?? 'Error'}: ${e.message}` : e instanceof Error ? e.message : String(e);
  return m.split('\n')[0]!.slice(0, 300);
}

export async function teacherBootstrapWorkflow(input: TeacherBootstrapInput): Promise<TeacherBootstrapResult> {
  const c = parseCampaignOrFail(input.campaign);
  const b = c.teacher.bootstrap;
  const dir = runLayout(input.runDir).teacherBootstrap;
  setCurrentDetails(`generating ${b.seed_structures} seed structures`);
  // The campaign's own recipe (every generation mode), so the teacher sees what it will be asked about.
  const made = await control.generateStructures({
    runDir: input.runDir,
    name: 'teacher-seed',
    system: c.system,
    generation: c.generation,
    count: b.seed_structures,
    seed: c.seed,
    store: { source: 'teacher_seed', generation: 0, onDuplicate: 'skip' },
  });
  setCurrentDetails(`labelling ${made.count} seed structures with the DFT oracle`);
  const labels = await executeChild(labellingWorkflow, {
    workflowId: `${workflowInfo().workflowId}/dft`,
    args: [{ runDir: input.runDir, dft: c.dft, structureFile: made.output, ids: made.ids, minDistance: c.generation.min_distance, store: { source: 'teacher_seed', generation: 0 } }],
  });
  // A committee or a fine-tune needs a training and a validation split; SevenNet's reference one label per element.
  // Old histories of a SevenNet teacher predate its fine-tune: they replay the zero-shot reference fit.
  const sevennetTuned = c.teacher.kind === 'sevennet' && c.teacher.finetune.max_epochs > 0 && patched('sevennet-finetune');
  const needed = c.teacher.kind === 'sevennet' && !sevennetTuned ? c.system.elements.length : 4;
  if (labels.labelled < needed) {
    throw ApplicationFailure.create({
      type: NonRetryableErrors.TrainingFailed,
      nonRetryable: true,
      message: `only ${labels.labelled} of ${made.count} seed structures got DFT labels (${labels.failed} failed): the ${c.teacher.kind} teacher's bootstrap needs at least ${needed}; see ${runLayout(input.runDir).dftRoot}`,
    });
  }
  const dftLabels = labels.labels.map((l) => ({ structureId: l.structureId, labelKey: l.labelKey }));
  const ds = await control.exportDataset({
    runDir: input.runDir,
    name: 'seed',
    outDir: dir,
    formats: ['extxyz'],
    sets: ['teacher-bootstrap'],
    define: { set: 'teacher-bootstrap', generation: 0, members: dftLabels.map((l) => ({ id: l.structureId, oracle: 'dft', settings_hash: l.labelKey, weight: 1, config_type: 'dft' })) },
  });
  const seeded: SeedLabels = { runDir: input.runDir, c, made, labels, dftLabels, dataset: ds.extxyz! };
  if (c.teacher.kind === 'chgnet') return foundationBootstrap(seeded, 'chgnet');
  if (c.teacher.kind === 'sevennet') return sevennetTuned ? foundationBootstrap(seeded, 'sevennet') : sevennetBootstrap(seeded);
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
        // The specification's loss weights are energy 1 : forces 100 (: stress 10). A committee from ~10 seed
        // structures sees ~10 energies against ~1000 force components, so energy weighs 10 here to keep the
        // energy reference from being swamped (forces stay at MACE's default 100); no stress term (MACE's
        // default 0): the committee judges forces, which is what routing reads.
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
    structures: made.count,
    labelled: labels.labelled,
    failed: labels.failed,
    trainingScore,
    wallSeconds: trained.map((m) => m.wallSeconds),
    dftLabels,
  };
}

/** A zero-shot SevenNet-0 teacher's one file is its energy reference (JSON); a fine-tuned one's is a model file. */
export const isEnergyReference = (file: string | undefined) => Boolean(file?.endsWith('.json'));

/** What a single-model teacher's bootstrap starts from: the seed structures, their DFT labels, the dataset. */
interface SeedLabels {
  runDir: string;
  c: Campaign;
  made: { output: string; count: number };
  labels: { labelled: number; failed: number };
  dftLabels: DftLabelRefLite[];
  dataset: string;
}

/** The end both single-model bootstraps share: the teacher scored on its seed labels, recorded, returned. */
async function recordSingleModel(
  s: SeedLabels,
  kind: 'chgnet' | 'sevennet',
  t: { models: string[]; seeds: number[]; wallSeconds: number[]; fineTuned: boolean; details: Record<string, unknown> },
): Promise<TeacherBootstrapResult> {
  const trainingScore = await ml.maceScore({ kind, models: t.models, dataset: s.dataset, workDir: runLayout(s.runDir).teacherBootstrap });
  const record = await control.recordTeacher({
    runDir: s.runDir,
    name: 'bootstrap',
    kind: 'bootstrap',
    generation: 0,
    models: t.models,
    seeds: t.seeds,
    details: { teacher: kind, dataset: s.dataset, structures: s.made.output, dftLabels: s.labels.labelled, dftFailed: s.labels.failed, trainingScore, ...t.details },
  });
  return { models: t.models, seeds: t.seeds, record: record.file, dataset: s.dataset, structuresFile: s.made.output, structures: s.made.count, labelled: s.labels.labelled, failed: s.labels.failed, trainingScore, wallSeconds: t.wallSeconds, dftLabels: s.dftLabels, fineTuned: t.fineTuned };
}

/**
 * A foundation teacher's bootstrap (CHGNet, SevenNet-0): the wheel's weights fine-tuned on the seed labels
 * (at teacher.finetune's settings), so its labels sit on the campaign's DFT energy zero from generation 0 on
 * (zero-shot, its energies are Materials Project's: ~100 eV/atom away for QE's Si). The zero-shot and the
 * fine-tuned scores on the seeds are both recorded.
 */
async function foundationBootstrap(s: SeedLabels, kind: 'chgnet' | 'sevennet'): Promise<TeacherBootstrapResult> {
  const f = s.c.teacher.finetune;
  const zeroShot = await ml.maceScore({ kind, models: [], dataset: s.dataset, workDir: runLayout(s.runDir).teacherBootstrap });
  setCurrentDetails(`fine-tuning ${FOUNDATION_NAMES[kind]} on ${s.labels.labelled} seed DFT labels`);
  const seed = s.c.seed + 1;
  const args = { trainFile: s.dataset, seed, maxEpochs: f.max_epochs, lr: f.lr, energyWeight: f.energy_weight, validFraction: 0.2 };
  const layout = runLayout(s.runDir);
  const tuned = kind === 'chgnet' ? await ml.fineTuneChgnet({ output: layout.teacherChgnet(0), ...args }) : await ml.fineTuneSevennet({ output: layout.teacherSevennet(0), ...args });
  return recordSingleModel(s, kind, {
    models: [tuned.model],
    seeds: [seed],
    wallSeconds: [tuned.wallSeconds],
    fineTuned: f.max_epochs > 0,
    details: { zeroShotScore: zeroShot, referenceShift: tuned.referenceShift, maxEpochs: f.max_epochs, lr: f.lr },
  });
}

/**
 * A SevenNet-0 teacher's bootstrap, zero-shot: the weights stay as the sevenn wheel ships them; only an
 * energy reference (per-element shifts) is fitted on the seed labels, so its labels sit on the campaign's
 * DFT energy zero and can train ACE beside DFT labels (zero-shot, MPtrj's zero is ~100 eV/atom from QE's Si).
 * Its scores on the seeds before (per-element offset removed by the fit) and after are recorded.
 */
async function sevennetBootstrap(s: SeedLabels): Promise<TeacherBootstrapResult> {
  setCurrentDetails(`fitting SevenNet-0's energy reference on ${s.labels.labelled} seed DFT labels`);
  const ref = await ml.fitSevennetReference({ dataset: s.dataset, output: runLayout(s.runDir).teacherSevennetReference, device: s.c.teacher.device });
  return recordSingleModel(s, 'sevennet', {
    models: [ref.reference],
    seeds: [],
    wallSeconds: [],
    fineTuned: false,
    details: { zeroShot: true, referenceShift: ref.shift, energyRmseBeforeShift: ref.energyRmseBeforeShift },
  });
}

export interface TeacherFinetuneInput {
  runDir: string;
  generation: number;
  teacher: unknown;
  /** The committee to start from (the foundation files); default: teacher.models. */
  models?: string[];
  /** The new DFT labels to fine-tune on; with every earlier DFT label of the store replayed beside them. */
  dftLabels: DftLabelRefLite[];
  /** The new labels' structures (surrogates are made from them). */
  structureFile: string;
  /** structureFile's index of each new label, in the order of dftLabels. */
  indices: number[];
  /** Further DFT labels never trained on, scored before and after (an honest error estimate). */
  holdout?: DftLabelRefLite[];
  seed: number;
  minDistance?: number;
}

export interface TeacherFinetuneResult {
  /** The committee to use from now on: the fine-tuned one when adopted, else the one given. */
  models: string[];
  /** The fine-tuned model files (null when fine-tuning did not run). */
  tuned: string[] | null;
  adopted: boolean;
  /** Why the committee was (not) adopted, in one line. */
  decision: string;
  mode: 'naive' | 'multihead' | null;
  record: string;
  trainedOn: { new: number; replayed: number };
  /** Errors on the new labels, before and after. */
  before: MaceScore | null;
  after: MaceScore | null;
  /** Errors on every DFT label so far (the adoption test). */
  allBefore: MaceScore | null;
  allAfter: MaceScore | null;
  holdoutBefore: MaceScore | null;
  holdoutAfter: MaceScore | null;
  surrogates: { made: number; kept: number; dropped: number; file: string | null; note: string | null };
  /** The new DFT labels (weight 1) and kept surrogates (teacher.surrogates.weight) as exact store labels. */
  members: MemberInput[];
}

/** mace_run_train needs a training and a validation split of a few structures each. */
export const MIN_FINETUNE_STRUCTURES = 4;

/** Adopted only if it describes every DFT label so far at least about as well (a fine-tune can forget). */
export function adopt(before: MaceScore, after: MaceScore): boolean {
  return after.rmse_energy_mev_atom <= before.rmse_energy_mev_atom * 1.1 && after.rmse_forces_mev_a <= before.rmse_forces_mev_a * 1.1;
}

/**
 * A foundation model's fine-tune (activities/mace/foundation-finetune.ts): one model, from the wheel's weights
 * or the previous generation's file, written where later labelling loads it (run-layout teacherChgnet, teacherSevennet).
 */
async function fineTuneFoundationTeacher(input: TeacherFinetuneInput, t: ReturnType<typeof parseTeacher>, trainFile: string, foundation?: string) {
  const layout = runLayout(input.runDir);
  const r = await (t.kind === 'chgnet' ? ml.fineTuneChgnet : ml.fineTuneSevennet)({
    output: t.kind === 'chgnet' ? layout.teacherChgnet(input.generation) : layout.teacherSevennet(input.generation),
    foundation,
    trainFile,
    seed: input.seed + 1,
    maxEpochs: t.finetune.max_epochs,
    lr: t.finetune.lr,
    energyWeight: t.finetune.energy_weight,
    validFraction: 0.2,
  });
  return { model: r.model, mode: 'naive' as const };
}

export async function teacherFinetuneWorkflow(input: TeacherFinetuneInput): Promise<TeacherFinetuneResult> {
  const t = parseTeacher(input.teacher);
  if (t.finetune.max_epochs === 0) throw invalidConfig('teacher.finetune.max_epochs is 0: the teacher is never fine-tuned (the campaign skips this step)');
  const single = t.kind === 'chgnet' || t.kind === 'sevennet';
  // A foundation teacher: no file is the wheel's weights, one file an earlier generation's fine-tune.
  if (t.kind === 'sevennet' && isEnergyReference(input.models?.[0])) throw invalidConfig('a zero-shot SevenNet-0 teacher (an energy reference file) is not fine-tuned: fine-tuning starts from the seed fine-tune (teacher.finetune.max_epochs > 0 from the start)');
  const foundations = single ? (input.models ?? t.models) : fastOracle(t, input.models).models;
  if (input.dftLabels.length === 0) throw invalidConfig('fine-tuning needs new DFT labels: dftLabels is empty');
  if (input.indices.length !== input.dftLabels.length) throw invalidConfig(`indices has ${input.indices.length} entries for ${input.dftLabels.length} DFT labels`);
  const gen = input.generation;
  const dir = runLayout(input.runDir).teacherGeneration(gen);
  const ds = await control.teacherDatasets({ runDir: input.runDir, generation: gen, dir, newLabels: input.dftLabels, holdout: input.holdout });
  const out: TeacherFinetuneResult = {
    models: foundations,
    tuned: null,
    adopted: false,
    decision: '',
    mode: null,
    record: '',
    trainedOn: { new: input.dftLabels.length, replayed: ds.replayed },
    before: null,
    after: null,
    allBefore: null,
    allAfter: null,
    holdoutBefore: null,
    holdoutAfter: null,
    surrogates: { made: 0, kept: 0, dropped: 0, file: null, note: null },
    members: input.dftLabels.map((l) => ({ id: l.structureId, oracle: 'dft', settings_hash: l.labelKey, weight: 1, config_type: 'dft' })),
  };
  const score = (models: string[], dataset: string) => ml.maceScore({ kind: t.kind, models, dataset, workDir: dir });
  out.before = await score(foundations, ds.fresh);
  out.allBefore = await score(foundations, ds.allDft);
  if (ds.holdout) out.holdoutBefore = await score(foundations, ds.holdout);

  if (ds.trainCount < MIN_FINETUNE_STRUCTURES) {
    out.decision = `kept the committee: ${ds.trainCount} DFT label(s) in the store (${input.dftLabels.length} new), fewer than the ${MIN_FINETUNE_STRUCTURES} a training and validation split needs`;
  } else {
    setCurrentDetails(`fine-tuning ${t.kind !== 'mace' ? FOUNDATION_NAMES[t.kind] : `${foundations.length} models`} on ${input.dftLabels.length} new + ${ds.replayed} replayed DFT labels`);
    try {
      const tuned = single ? [await fineTuneFoundationTeacher(input, t, ds.train, foundations[0])] : await Promise.all(
        foundations.map((foundationModel, k) =>
          ml.fineTuneMace({
            outDir: dir,
            name: `member-${k}`,
            foundationModel,
            trainFile: ds.train,
            seed: input.seed + 1 + 1000 * k,
            maxEpochs: t.finetune.max_epochs,
            lr: t.finetune.lr,
            energyWeight: t.finetune.energy_weight,
            e0s: t.finetune.e0s,
            replayFile: t.finetune.replay_file,
            validFraction: 0.2,
          }),
        ),
      );
      out.tuned = tuned.map((x) => x.model);
      out.mode = tuned[0]!.mode;
      out.after = await score(out.tuned, ds.fresh);
      out.allAfter = await score(out.tuned, ds.allDft);
      if (ds.holdout) out.holdoutAfter = await score(out.tuned, ds.holdout);
      out.adopted = adopt(out.allBefore, out.allAfter);
      const e = (s: MaceScore) => `${s.rmse_energy_mev_atom.toFixed(1)} meV/atom, ${s.rmse_forces_mev_a.toFixed(0)} meV/Å`;
      out.decision = `${out.adopted ? 'adopted:' : 'kept the old committee:'} fine-tuned on ${ds.trainCount} DFT labels; on all ${ds.allDftCount} DFT labels ${e(out.allBefore)} -> ${e(out.allAfter)}`;
      if (out.adopted) out.models = out.tuned;
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      out.decision = `kept the committee: fine-tuning failed (${failureText(err)})`;
    }
  }

  // Surrogates: perturbed new DFT structures labelled by the committee in use, only when that committee
  // describes the DFT labels well enough; a committee keeps the labels it is confident about (accept
  // threshold), a single model every unflagged one.
  const inUse = out.adopted ? out.allAfter! : out.allBefore;
  const sur = out.surrogates;
  if (t.surrogates.per_structure === 0) sur.note = 'teacher.surrogates.per_structure is 0';
  else if (inUse.rmse_energy_mev_atom > t.surrogates.max_teacher_error_mev_atom) {
    sur.note = `no surrogates: the committee's energy RMSE on all ${ds.allDftCount} DFT labels is ${inUse.rmse_energy_mev_atom.toFixed(1)} meV/atom, above teacher.surrogates.max_teacher_error_mev_atom (${t.surrogates.max_teacher_error_mev_atom})`;
  } else {
    setCurrentDetails('generating and labelling surrogates');
    try {
      const made = await control.makeSurrogates({
        runDir: input.runDir,
        name: `gen-${gen}`,
        parents: input.dftLabels.map((l, i) => ({ structure_file: input.structureFile, index: input.indices[i]!, id: l.structureId })),
        perStructure: t.surrogates.per_structure,
        rattleSigma: t.surrogates.rattle_sigma,
        strainMax: t.surrogates.strain_max,
        seed: input.seed + gen,
        minDistance: input.minDistance,
      });
      sur.made = made.ids.length;
      sur.file = made.output;
      const committee = t.kind === 'mace' && out.models.length > 1;
      const kept: { index: number; m: MemberInput }[] = [];
      await labelInBatches(
        { runDir: input.runDir, structureFile: made.output, ids: made.ids, oracle: { kind: t.kind, models: out.models, device: t.device }, batchSize: t.batch_size, what: 'surrogate', provenance: { source: 'surrogate', generation: gen } },
        (res, start) => {
          res.items.forEach((it, j) => {
            const ok = !it.flag && (!committee || (typeof it.fStd === 'number' && it.fStd <= t.accept_threshold));
            if (ok) kept.push({ index: start + j, m: { id: it.id, oracle: t.kind, settings_hash: res.oracle.key, weight: t.surrogates.weight, config_type: 'surrogate' } });
            else sur.dropped++;
          });
        },
      );
      kept.sort((a, b) => a.index - b.index);
      sur.kept = kept.length;
      out.members.push(...kept.map((k) => k.m));
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      sur.note = `no surrogates: ${failureText(err)}`;
    }
  }
  const record = await control.recordTeacher({
    runDir: input.runDir,
    name: `gen-${gen}`,
    kind: 'finetune',
    generation: gen,
    models: out.models,
    seeds: foundations.map((_, k) => input.seed + 1 + 1000 * k),
    details: { foundations, tuned: out.tuned, adopted: out.adopted, decision: out.decision, mode: out.mode, trainedOn: out.trainedOn, before: out.before, after: out.after, allBefore: out.allBefore, allAfter: out.allAfter, holdoutBefore: out.holdoutBefore, holdoutAfter: out.holdoutAfter, surrogates: sur },
  });
  out.record = record.file;
  return out;
}

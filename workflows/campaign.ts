// The campaign: one generation per workflow run, continueAsNew between generations, state carrying ids
// and file references only. Started with the plain campaign JSON (CLI or the Temporal UI's form) and
// validated here with the same schema, so a bad object fails with the field-level messages.
import {
  ApplicationFailure,
  condition,
  continueAsNew,
  patched,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { DatasetEntry } from '../activities/store/datasets';
import { parseCampaign, type Campaign } from '../common/campaign-schema';
import { NonRetryableErrors } from '../common/errors';
import { CampaignIdKey, GenerationKey, PhaseKey, SystemKey } from '../common/search-attributes';
import { control, ml } from './activity-options';
import {
  pauseSignal,
  resumeSignal,
  statusQuery,
  stopAfterGenerationSignal,
  tuneUpdate,
  TuningSchema,
  type CampaignStatus,
  type GenerationMetrics,
  type Phase,
  type Tuning,
} from './campaign-api';
import { distillationWorkflow } from './distillation';
import { explorationWorkflow } from './exploration';
import { finetuneWorkflow } from './finetune';
import { labellingWorkflow } from './labelling';
import { teacherBootstrapWorkflow } from './teacher';
import { runLayout } from '../common/run-layout';
import { trackProgress } from './progress';

/** Carried across continueAsNew: small, references only. */
export interface CampaignState {
  campaignId: string;
  runDir: string;
  campaign: Campaign;
  generation: number;
  teacherModels: string[];
  potential?: { generation: number; yaml: string; yace: string; asi?: string };
  dft: { used: number; labelled: number; healed: number; failed: number };
  bySource: Record<string, number>;
  byOracle: Record<string, number>;
  metrics: GenerationMetrics[];
  /** Generation-0 structures the teacher routed to DFT, waiting for the labelling phase. */
  pendingDft?: { file: string; ids: string[]; indices: number[] };
  paused: boolean;
  stopAfterGeneration: boolean;
}

export interface CampaignOutcome {
  campaignId: string;
  runDir: string;
  stopReason: string;
  generations: number;
  dft: CampaignState['dft'];
  potential?: CampaignState['potential'];
  metrics: GenerationMetrics[];
  report: string;
}

const add = (m: Record<string, number>, k: string, n: number) => (m[k] = (m[k] ?? 0) + n);

/** The settled DFT counters plus the calculations that running children have finished so far. */
function liveDftCounts(settled: CampaignState['dft'], l: { done: number; labelled: number; healed: number; failed: number; running: string[] }) {
  return { used: settled.used + l.done, labelled: settled.labelled + l.labelled, healed: settled.healed + l.healed, failed: settled.failed + l.failed, running: l.running };
}

function applyTune(x: Campaign, t: Tuning): void {
  if (t.accept_threshold !== undefined) x.teacher.accept_threshold = t.accept_threshold;
  if (t.dft_threshold !== undefined) x.teacher.dft_threshold = t.dft_threshold;
  if (t.gamma_select !== undefined) x.exploration.gamma_select = t.gamma_select;
  if (t.gamma_halt !== undefined) x.exploration.gamma_halt = t.gamma_halt;
  if (t.dft_total !== undefined) x.budgets.dft_total = t.dft_total;
  if (t.dft_per_generation !== undefined) x.budgets.dft_per_generation = t.dft_per_generation;
  if (t.max_generations !== undefined) x.budgets.max_generations = t.max_generations;
}

export async function campaignWorkflow(raw: unknown, carried?: CampaignState): Promise<CampaignOutcome> {
  const parsed = parseCampaign(raw);
  if (!parsed.ok) {
    throw ApplicationFailure.create({ type: NonRetryableErrors.InvalidConfig, nonRetryable: true, message: `invalid campaign:\n${parsed.errors.join('\n')}` });
  }
  const info = workflowInfo();
  let phase: Phase = 'preparing';
  let current: string | undefined;
  let stopReason: string | undefined;
  let state: CampaignState;
  const tunes: Tuning[] = [];

  // Handlers are registered before the first await, so status answers from the first moment: the
  // provisional state is replaced by the prepared one (derived values, run directory) right after.
  const campaignId = carried?.campaignId ?? parsed.campaign.id ?? info.workflowId;
  state = carried ?? {
    campaignId,
    runDir: '',
    campaign: parsed.campaign,
    generation: 0,
    teacherModels: parsed.campaign.teacher.models,
    dft: { used: 0, labelled: 0, healed: 0, failed: 0 },
    bySource: {},
    byOracle: {},
    metrics: [],
    paused: false,
    stopAfterGeneration: false,
  };
  const c = () => state.campaign;
  const live = trackProgress();

  const status = (): CampaignStatus => ({
    campaignId: state.campaignId,
    system: c().system.name,
    runDir: state.runDir,
    phase: state.paused && phase !== 'finished' ? 'paused' : phase,
    generation: state.generation,
    paused: state.paused,
    stopAfterGeneration: state.stopAfterGeneration,
    stopReason,
    current,
    structures: { bySource: { ...state.bySource }, byOracle: { ...state.byOracle } },
    dft: { ...state.dft, ...liveDftCounts(state.dft, live.dft()), budget: c().budgets.dft_total },
    thresholds: { accept: c().teacher.accept_threshold, dft: c().teacher.dft_threshold, gammaSelect: c().exploration.gamma_select, gammaHalt: c().exploration.gamma_halt },
    teacher: { models: state.teacherModels.length, uncertainty: state.teacherModels.length > 1 ? 'committee' : 'ace-gamma' },
    potential: state.potential,
    metrics: state.metrics,
    progress: live.records(),
  });
  setHandler(statusQuery, status);
  setHandler(pauseSignal, () => void (state.paused = true));
  setHandler(resumeSignal, () => void (state.paused = false));
  setHandler(stopAfterGenerationSignal, () => void (state.stopAfterGeneration = true));
  setHandler(
    tuneUpdate,
    (t: Tuning) => {
      applyTune(state.campaign, t);
      tunes.push(t);
      const x = state.campaign;
      return { ...status().thresholds, dft_total: x.budgets.dft_total, dft_per_generation: x.budgets.dft_per_generation, max_generations: x.budgets.max_generations };
    },
    {
      validator: (t: Tuning) => {
        const r = TuningSchema.safeParse(t);
        if (!r.success) throw new Error(r.error.issues.map((i) => `${i.path.join('.') || 'tune'}: ${i.message}`).join('; '));
        const x = state.campaign;
        const accept = t.accept_threshold ?? x.teacher.accept_threshold;
        const dft = t.dft_threshold ?? x.teacher.dft_threshold;
        if (accept > dft) throw new Error(`accept_threshold (${accept}) must be <= dft_threshold (${dft})`);
        const sel = t.gamma_select ?? x.exploration.gamma_select;
        const halt = t.gamma_halt ?? x.exploration.gamma_halt;
        if (sel >= halt) throw new Error(`gamma_select (${sel}) must be < gamma_halt (${halt})`);
        if (t.dft_total !== undefined && t.dft_total < state.dft.used) throw new Error(`dft_total (${t.dft_total}) is below the ${state.dft.used} DFT calculations already used`);
      },
    },
  );

  const enter = async (p: Phase, details: string) => {
    await condition(() => !state.paused); // pause takes effect between phases
    phase = p;
    current = details;
    setCurrentDetails(`gen ${state.generation}: ${details}`);
    upsertSearchAttributes([
      { key: PhaseKey, value: p },
      { key: GenerationKey, value: state.generation },
    ]);
  };
  const finish = async (reason: string): Promise<CampaignOutcome> => {
    stopReason = reason;
    phase = 'finished';
    current = undefined;
    upsertSearchAttributes([{ key: PhaseKey, value: 'finished' }]);
    const s = status();
    const last = state.metrics[state.metrics.length - 1];
    const report = await control.writeCampaignReport({
      runDir: state.runDir,
      status: s,
      summary: [
        `# Campaign ${state.campaignId} (${c().system.name})`,
        '',
        `Stopped: ${reason}.`,
        `Generations: ${state.generation}; DFT calculations: ${state.dft.used} of ${c().budgets.dft_total} (${state.dft.healed} healed, ${state.dft.failed} failed).`,
        state.potential ? `Final potential (generation ${state.potential.generation}): ${state.potential.yace}, active set ${state.potential.asi ?? 'none'}.` : 'No potential was fitted.',
        last ? `Final test RMSE: ${last.test_rmse_energy_mev_atom?.toFixed(2) ?? 'n/a'} meV/atom, ${last.test_rmse_forces_mev_a?.toFixed(1) ?? 'n/a'} meV/Å.` : '',
      ],
    });
    await htmlReport();
    return { campaignId: state.campaignId, runDir: state.runDir, stopReason: reason, generations: state.generation, dft: state.dft, potential: state.potential, metrics: state.metrics, report };
  };
  // runs/<id>/report/index.html after every generation (the patch keeps older histories replayable).
  const htmlReport = async () => {
    if (patched('html-report')) await control.writeHtmlReport({ runDir: state.runDir, status: status() });
  };
  const childId = (name: string) => `${state.campaignId}/gen-${state.generation}/${name}`;
  // The run store keeps every structure with its provenance and every label it got (idempotent).
  const record = async (file: string, source: string, labelFiles: string[]) => {
    await control.insertStructures({ runDir: state.runDir, file, source, generation: state.generation, elements: c().system.elements, onDuplicate: 'skip', returnIds: false });
    if (labelFiles.length) await control.addLabelFiles({ runDir: state.runDir, labelFiles, onDuplicate: 'skip' });
  };

  if (!carried) {
    const prepared = await control.prepareCampaign({ raw, campaignId });
    state.runDir = prepared.runDir;
    state.campaign = prepared.campaign;
    state.teacherModels = prepared.campaign.teacher.models;
    tunes.forEach((t) => applyTune(state.campaign, t)); // tuned while preparing: the user's word wins
  }
  upsertSearchAttributes([
    { key: CampaignIdKey, value: state.campaignId },
    { key: SystemKey, value: c().system.name },
    { key: GenerationKey, value: state.generation },
  ]);
  const g = state.generation;
  const run = runLayout(state.runDir);

  // Teacher: without model files, train a committee from DFT labels of seed structures (counts against
  // the DFT budget).
  if (g === 0 && !state.potential && state.teacherModels.length === 0) {
    await enter('teacher', 'bootstrapping the MACE committee from DFT labels');
    const t = await live.child(teacherBootstrapWorkflow, { workflowId: childId('teacher'), args: [{ runDir: state.runDir, campaign: c() }] });
    state.dft.used += t.structures;
    state.dft.labelled += t.labelled;
    state.dft.failed += t.failed;
    add(state.bySource, 'teacher_seed', t.structures);
    add(state.byOracle, 'dft', t.labelled);
    await control.appendDftHistory({ runDir: state.runDir, generation: 0, entries: t.dftEntries });
    await record(t.structuresFile, 'teacher_seed', t.dftEntries.map((e) => e.label_file));
    state.teacherModels = t.models;
  }

  if (g === 0 && !state.potential) {
    await enter('distillation', `labelling ${c().generation.count} candidates with the teacher`);
    const d = await live.child(distillationWorkflow, { workflowId: childId('distillation'), args: [{ runDir: state.runDir, campaign: c(), teacherModels: state.teacherModels }] });
    add(state.bySource, 'initial_random', d.generated);
    add(state.byOracle, 'mace', d.kept);
    state.potential = { generation: 0, yaml: d.fit.potentialYaml, yace: d.fit.yace, asi: d.fit.asi };
    state.metrics.push({ generation: 0, potential: d.fit.yace, ...d.fit.metrics });
    if (d.toDft.length) state.pendingDft = { file: d.candidateFile, ids: d.toDft.map((x) => x.id), indices: d.toDft.map((x) => x.index) };
    await record(d.candidateFile, 'initial_random', d.trainingEntries.map((e) => e.label_file));
  }
  const pot = state.potential!;
  if (!pot.asi) return finish('the potential has no active set, so exploration cannot measure extrapolation');

  await enter('exploration', `MD with generation-${pot.generation} ACE`);
  const ex = await live.child(explorationWorkflow, { workflowId: childId('exploration'), args: [{ runDir: state.runDir, campaign: c(), generation: g, potential: { yaml: pot.yaml, asi: pot.asi } }] });
  if (ex.candidates > 0) await record(ex.output, 'md_select', []); // each frame's own source (md_halt/md_select) wins
  const gm = state.metrics[state.metrics.length - 1]!;
  gm.explored = { candidates: ex.candidates, halted: ex.halted, above_select: ex.above_select, gamma_max: ex.gamma_max };
  if (ex.converged && !state.pendingDft) return finish(`converged: no halt and no frame above gamma ${c().exploration.gamma_select} in generation ${g}'s MD`);

  const remaining = c().budgets.dft_total - state.dft.used;
  const n = Math.min(c().budgets.dft_per_generation, remaining);
  if (n <= 0) return finish(`DFT budget exhausted (${state.dft.used} of ${c().budgets.dft_total})`);

  await enter('labelling', `choosing up to ${n} of ${ex.candidates} candidates for DFT`);
  let pick: { file: string; ids: string[] };
  if (ex.candidates > 0) {
    const sel = await ml.selectDOptimal({ candidates: ex.output, n: Math.min(n, ex.candidates), potential: pot.yaml, workDir: run.selection(g), seed: c().seed + g });
    const sub = await control.writeStructureSubset({ structureFile: ex.output, indices: sel.indices, output: `${run.selection(g)}/selected.extxyz` });
    pick = { file: sub.output, ids: sel.indices.map((i) => ex.ids[i]!) };
    add(state.bySource, 'md_halt', ex.halted);
    add(state.bySource, `active_learning_iter_${g}`, pick.ids.length);
  } else {
    const p = state.pendingDft!;
    const take = p.indices.slice(0, n);
    const sub = await control.writeStructureSubset({ structureFile: p.file, indices: take, output: `${run.selection(g)}/teacher-uncertain.extxyz` });
    pick = { file: sub.output, ids: p.ids.slice(0, take.length) };
  }
  state.pendingDft = undefined;
  const labels = await live.child(labellingWorkflow, { workflowId: childId('labelling'), args: [{ runDir: state.runDir, dft: c().dft, structureFile: pick.file, ids: pick.ids }] });
  state.dft.used += pick.ids.length;
  state.dft.labelled += labels.labelled;
  state.dft.healed += labels.healed;
  state.dft.failed += labels.failed;
  add(state.byOracle, 'dft', labels.labelled);
  await record(pick.file, `active_learning_iter_${g}`, labels.labels.map((l) => l.labelFile));
  gm.dft = { requested: pick.ids.length, labelled: labels.labelled, healed: labels.healed, failed: labels.failed };

  if (labels.labelled > 0) {
    await enter('finetune', `fine-tuning on ${labels.labelled} new DFT labels and refitting ACE`);
    const newDft: DatasetEntry[] = labels.labels.map((l) => ({ structure_file: pick.file, index: l.index, label_file: l.labelFile, name: l.structureId }));
    const ft = await live.child(finetuneWorkflow, {
      workflowId: childId('finetune'),
      args: [{ runDir: state.runDir, campaign: c(), generation: g, teacherModels: state.teacherModels, newDft, previousPotential: pot.yaml }],
    });
    state.teacherModels = ft.teacherModels;
    gm.teacher = { adopted: ft.teacherAdopted, ...ft.scores, surrogates: ft.surrogates, note: ft.surrogateNote };
    add(state.bySource, 'surrogate', ft.surrogates);
    add(state.byOracle, 'mace', ft.surrogates);
    state.potential = { generation: g + 1, yaml: ft.fit.potentialYaml, yace: ft.fit.yace, asi: ft.fit.asi };
    state.metrics.push({ generation: g + 1, potential: ft.fit.yace, ...ft.fit.metrics });
  }

  state.generation = g + 1;
  if (state.stopAfterGeneration) return finish(`stopped by request after generation ${g}`);
  if (state.generation >= c().budgets.max_generations) return finish(`generation limit reached (${c().budgets.max_generations})`);
  if (state.dft.used >= c().budgets.dft_total) return finish(`DFT budget exhausted (${state.dft.used} of ${c().budgets.dft_total})`);
  await htmlReport();
  await condition(() => !state.paused);
  return continueAsNew<typeof campaignWorkflow>(raw, state);
}

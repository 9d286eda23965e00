// The campaign: one generation per workflow run, continueAsNew between generations, state carrying ids
// and file references only (campaign-state.ts). Started with the plain campaign JSON (CLI or the Temporal
// UI's form) and validated here with the same schema, so a bad object fails with the field-level messages.
//
// A generation, phase by phase (each a function below; each ends in a recorded decision, never in an
// exception of ours):
//   teacher       (generation 0, no teacher.models) seed structures -> DFT -> a MACE committee
//   distillation  (generation 0) candidates from the whole generation recipe -> tiered oracle -> ACE gen 0
//   exploration   MD with the current ACE potential -> candidates above gamma_select (or halting)
//   routing       (single-model teacher) the MD candidates through the tiered oracle, routed by their ACE
//                 gamma (teacher.gamma_*, between): confident labels become training data, doubted ones
//                 join the DFT pool. A committee's MD candidates all go to the DFT pool (phase 3 of the
//                 specification: DFT for what MD found)
//   labelling     MD candidates and generation-0 structures the teacher doubts compete for the DFT budget:
//                 one D-optimal ranking of both, most informative first -> pw.x
//   finetune      teacher fine-tune (optional: failure keeps the old committee) -> incremental ACE refit
import {
  ActivityFailure,
  ChildWorkflowFailure,
  condition,
  continueAsNew,
  patched,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { parseCampaignOrFail } from './config';
import { CampaignIdKey, GenerationKey, PhaseKey, SystemKey } from '../common/search-attributes';
import { handOverLines } from '../common/validation';
import { control } from './activity-options';
import { pauseSignal, resumeSignal, statusQuery, stopAfterGenerationSignal, tuneUpdate, TuningSchema, type GenerationMetrics, type Phase, type Tuning } from './campaign-api';
import { add, applyTune, buildStatus, initialState, tuneProblems, type CampaignState } from './campaign-state';
import { pickForDft } from './dft-pool';
import { distillationWorkflow } from './distillation';
import { explorationWorkflow, type ExplorationResult } from './exploration';
import { finetuneWorkflow } from './finetune';
import { labellingWorkflow } from './labelling';
import { reusingChildren, splitResume } from './resume';
import { failureText, teacherBootstrapDecision, teacherBootstrapText, teacherBootstrapWorkflow } from './teacher';
import { tieredOracleWorkflow } from './tiered-oracle';
import { trackProgress } from './progress';
import { bestPotential, curveLines, drawPools, holdOutPicks, initialValidation, validateGeneration } from './validation';
import type { AceRefit } from './ace-refit';

export type { CampaignState } from './campaign-state';

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

/** A phase's verdict: go on with the generation, or stop the campaign for this (recorded) reason. */
type Verdict = { stop: string } | undefined;
/** The MD candidates after the teacher judged them: the doubted ones (queue) or, unrouted, all; and the labels it kept. */
type MdRouted = { mdQueue?: string; mdFile?: string; teacherLabelled?: string };

export async function campaignWorkflow(input: unknown, carried?: CampaignState): Promise<CampaignOutcome> {
  // `"resume": true` next to the campaign keys continues an earlier run of this id (workflows/resume.ts).
  const { raw, resume } = splitResume(input);
  // Phases (child workflows) run through this; a resumed run gets the ones its predecessor finished.
  let executeChild = reusingChildren({});
  const campaign = parseCampaignOrFail(raw);
  const info = workflowInfo();
  let phase: Phase = 'preparing';
  let current: string | undefined;
  let stopReason: string | undefined;
  const tunes: Tuning[] = [];

  // Handlers are registered before the first await, so status answers from the first moment: the
  // provisional state is replaced by the prepared one (derived values, run directory) right after.
  let state: CampaignState = carried ?? initialState(campaign.id ?? info.workflowId, campaign);
  // The validation set and the teacher's gate (workflows/validation.ts) came after histories were recorded:
  // a run recorded without them replays without them; a state carried from such a run starts them empty.
  const validating = patched('validation-set');
  state.validation ??= initialValidation();
  state.teacherLabels ??= 0;
  const c = () => state.campaign;
  const live = trackProgress(() => executeChild);
  const status = () => buildStatus(state, phase, current, stopReason, { dft: live.dft(), records: live.records() });
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
        const problems = tuneProblems(state.campaign, t, state.dft.used);
        if (problems.length) throw new Error(problems.join('; '));
      },
    },
  );

  let resumedState = false;
  if (resume && !carried) {
    // Continue the earlier run: its generation's starting state, and the phases it finished.
    const point = await control.findResumePoint({ campaignId: state.campaignId, currentRunId: info.runId, fromRunId: resume.fromRunId });
    if (point.state) {
      state = { ...(point.state as CampaignState), paused: state.paused, stopAfterGeneration: state.stopAfterGeneration };
      state.validation ??= initialValidation(); // a run recorded before the validation set
      state.teacherLabels ??= 0;
      resumedState = true;
    }
    executeChild = reusingChildren(point.phases);
    if (point.fromRunId) setCurrentDetails(`resuming run ${point.fromRunId} (${point.status}): ${Object.keys(point.phases).length} finished phase(s) reused`);
  }
  const g = state.generation;
  const metrics = (): GenerationMetrics | undefined => state.metrics.find((m) => m.generation === g);
  /** Every branch of a generation says what it did and why, in the status and the report. */
  const decide = (d: string) => {
    const entry = state.decisions.find((x) => x.generation === g) ?? state.decisions[state.decisions.push({ generation: g, decisions: [] }) - 1]!;
    entry.decisions.push(d);
    setCurrentDetails(`gen ${g}: ${d}`);
  };
  const enter = async (p: Phase, details: string) => {
    await condition(() => !state.paused); // pause takes effect between phases
    phase = p;
    current = details;
    setCurrentDetails(`gen ${g}: ${details}`);
    upsertSearchAttributes([
      { key: PhaseKey, value: p },
      { key: GenerationKey, value: g },
    ]);
  };
  const finish = async (reason: string): Promise<CampaignOutcome> => {
    stopReason = reason;
    phase = 'finished';
    current = undefined;
    upsertSearchAttributes([{ key: PhaseKey, value: 'finished' }]);
    const s = status();
    const cand = state.candidates;
    const report = await control.writeCampaignReport({
      runDir: state.runDir,
      status: s,
      summary: [
        `# Campaign ${state.campaignId} (${c().system.name})`,
        '',
        `Stopped: ${reason}.`,
        `Generations: ${state.generation}; DFT calculations: ${state.dft.used} of ${c().budgets.dft_total} (${state.dft.healed} healed, ${state.dft.failed} failed).`,
        `Candidates: ${cand.generated} generated (${cand.keptByTeacher} kept by the teacher, ${cand.discarded} discarded, ${cand.rejected} rejected); ${cand.mdHarvested} from MD; ${cand.pickedForDft} picked for DFT, ${cand.notSelected} MD candidates not picked, ${cand.waitingForDft} teacher-doubted still waiting for DFT.`,
        state.potential ? `Final potential (generation ${state.potential.generation}): ${state.potential.yace}, active set ${state.potential.asi ?? 'none'}.` : 'No potential was fitted.',
        ...(state.potential ? handOverLines(state.validation.curve, state.potential.generation, state.metrics.find((m) => m.generation === state.potential!.generation)) : []),
        ...curveLines(state),
        '',
        ...state.decisions.flatMap((x) => [`Generation ${x.generation}:`, ...x.decisions.map((d) => `- ${d}`)]),
      ],
    });
    await htmlReport();
    return { campaignId: state.campaignId, runDir: state.runDir, stopReason: reason, generations: state.generation, dft: state.dft, potential: state.potential, metrics: state.metrics, report };
  };
  const childId = (name: string) => `${state.campaignId}/gen-${g}/${name}`;
  // runs/<id>/report/index.html after every generation (the patch keeps older histories replayable).
  const htmlReport = async () => {
    if (patched('html-report')) await control.writeHtmlReport({ runDir: state.runDir, status: status() });
  };

  // -- validation: DFT the campaign never trains on (workflows/validation.ts), and the teacher's gate -------
  const validationPools = async (md?: { file: string }) => {
    await enter('labelling', md ? 'validation set: random MD candidates of each temperature' : 'validation set: random candidates of each generator mode');
    // Through live.child, like every other child: its progress records close when it returns, so the status
    // does not count its finished DFT calls twice (once live, once in state.dft).
    const r = await drawPools({ runDir: state.runDir, campaign: c(), generation: g, childId: childId(md ? 'validation-md' : 'validation-generated'), v: state.validation, md, dftUsed: state.dft.used, runChild: live.child });
    state.dft.used += r.requested;
    state.dft.labelled += r.labelled;
    state.dft.failed += r.failed;
    add(state.bySource, 'validation', r.requested);
    add(state.byOracle, 'dft', r.labelled);
    decide(r.decision);
    return r.draw;
  };
  /** After every fit: scored on the validation set, the fit without the teacher's labels compared, the teacher gated. */
  const validatePhase = async (potGen: number, fit: AceRefit['fit'], previous?: string) => {
    setCurrentDetails(`gen ${g}: scoring generation ${potGen} on the validation set`);
    const r = await validateGeneration({
      runDir: state.runDir,
      campaign: c(),
      generation: potGen,
      fit,
      previousPotential: previous,
      teacherModels: state.teacherModels,
      teacherInPlay: state.teacherLabels > 0,
      dftTrained: state.dft.labelled - state.validation.labelled,
      dftCalls: state.dft.used,
      v: state.validation,
    });
    r.decisions.forEach(decide);
    state.potential = { generation: potGen, yaml: r.fit.potentialYaml, yace: r.fit.yace, asi: r.fit.asi };
    // A refit that scored worse than an earlier potential is not built on (nor handed over).
    // Histories recorded before 'best-potential-paired' compared generations by a fixed margin.
    const best = patched('best-potential') ? bestPotential(state.validation, potGen, patched('best-potential-paired')) : {};
    if (best.decision) decide(best.decision);
    if (best.earlier) state.potential = best.earlier;
    const i = state.metrics.findIndex((x) => x.generation === potGen);
    if (i >= 0) state.metrics[i] = { ...state.metrics[i]!, test_rmse_energy_mev_atom: undefined, test_rmse_forces_mev_a: undefined, potential: r.fit.yace, ...r.fit.metrics, validation: r.validation };
    await queueGeneratedIfAside();
  };
  /** A teacher that stepped aside labels nothing: the generated candidates it had labelled (strain, shear,
   * rattle, defects) would never reach DFT, leaving the DFT data to MD frames alone. They join the DFT queue. */
  const queueGeneratedIfAside = async () => {
    const d = state.distilled;
    if (state.validation.teacher.open || !d || d.queued || d.kept === 0 || !patched('aside-generated-to-dft')) return;
    const q = await control.queueTeacherLabelled({ runDir: state.runDir, generation: g, manifest: d.manifest, pending: state.pending?.count ? state.pending.file : undefined });
    d.queued = true;
    state.pending = { file: q.file, count: q.count };
    state.candidates.waitingForDft = q.count;
    decide(`the teacher stepped aside, so the ${q.added} generated candidates it had labelled join the DFT queue (${q.count} waiting): D-optimality picks among them and the MD frames`);
  };

  if (!carried) {
    // A resume may bring a fixed configuration: prepared again, the stored one kept as history.
    const prepared = await control.prepareCampaign({ raw, campaignId: state.campaignId, reconfigure: resume !== undefined });
    state.runDir = prepared.runDir;
    state.campaign = prepared.campaign;
    if (!resumedState) state.teacherModels = prepared.campaign.teacher.models;
    tunes.forEach((t) => applyTune(state.campaign, t)); // tuned while preparing: the user's word wins
  }
  upsertSearchAttributes([
    { key: CampaignIdKey, value: state.campaignId },
    { key: SystemKey, value: c().system.name },
    { key: GenerationKey, value: g },
  ]);

  // -- teacher: without model files, a committee trained on DFT labels of seed structures (DFT budget) ----
  const teacherPhase = async () => {
    await enter('teacher', teacherBootstrapText(c().teacher));
    const t = await live.child(teacherBootstrapWorkflow, { workflowId: childId('teacher'), args: [{ runDir: state.runDir, campaign: c() }] });
    state.dft.used += t.structures;
    state.dft.labelled += t.labelled;
    state.dft.failed += t.failed;
    add(state.bySource, 'teacher_seed', t.structures);
    add(state.byOracle, 'dft', t.labelled);
    state.teacherModels = t.models;
    decide(teacherBootstrapDecision(c().teacher.kind, t));
    return t.dftLabels;
  };

  // -- distillation: generation 0's candidates, routed by the teacher; the confident ones train ACE gen 0 --
  const distillationPhase = async (seedLabels: { structureId: string; labelKey: string }[]): Promise<Verdict> => {
    await enter('distillation', `labelling ${c().generation.count} candidates with the teacher`);
    const d = await live.child(distillationWorkflow, { workflowId: childId('distillation'), args: [{ runDir: state.runDir, campaign: c(), teacherModels: state.teacherModels, dftLabels: seedLabels }] });
    add(state.bySource, 'initial_random', d.generated);
    add(state.byOracle, c().teacher.kind, d.kept);
    Object.assign(state.candidates, { generated: d.generated, keptByTeacher: d.kept, discarded: d.routes.discard, rejected: d.routes.reject, waitingForDft: d.queued });
    state.pending = { file: d.queueFile, count: d.queued };
    state.distilled = { manifest: d.manifest, kept: d.kept };
    const modes = Object.entries(d.modes).filter(([, n]) => n > 0).map(([m, n]) => `${n} ${m}`).join(', ');
    decide(`distillation: ${d.generated} candidates (${modes}); teacher kept ${d.kept}, ${d.queued} wait for DFT, ${d.routes.discard} discarded, ${d.routes.reject} rejected${d.note ? ` (${d.note})` : ''}`);
    if (!d.fit || !d.training) return { stop: d.skipped ?? 'no generation-0 potential' };
    state.potential = { generation: 0, yaml: d.fit.potentialYaml, yace: d.fit.yace, asi: d.fit.asi };
    state.metrics.push({ generation: 0, potential: d.fit.yace, ...d.fit.metrics });
    if (c().teacher.label_weight > 0) state.teacherLabels += d.kept;
    if (validating) await validatePhase(0, d.fit);
    return undefined;
  };

  // -- exploration: MD with the current potential; a failed exploration is a decision, not a failure ------
  const explorationPhase = async (pot: NonNullable<CampaignState['potential']> & { asi: string }): Promise<ExplorationResult | undefined> => {
    await enter('exploration', `MD with generation-${pot.generation} ACE`);
    let ex: ExplorationResult;
    try {
      ex = await live.child(explorationWorkflow, { workflowId: childId('exploration'), args: [{ runDir: state.runDir, campaign: c(), generation: g, potential: { yaml: pot.yaml, asi: pot.asi, generation: pot.generation } }] });
    } catch (err) {
      if (!(err instanceof ChildWorkflowFailure)) throw err;
      decide(`exploration failed (${failureText(err)}): no MD candidates this generation`);
      return undefined;
    }
    // Each harvested frame keeps its own source (md_halt or md_select) in the store; the oracles that label
    // them record them too, so a refused insert is a note, not the end of the campaign.
    if (ex.candidates > 0) {
      await control
        .insertStructures({ runDir: state.runDir, file: ex.output, generation: g, elements: c().system.elements, onDuplicate: 'skip', returnIds: false })
        .catch((err: unknown) => {
          if (!(err instanceof ActivityFailure)) throw err;
          decide(`the MD candidates were not recorded in the store before labelling (${failureText(err)})`);
        });
    }
    state.candidates.mdHarvested += ex.candidates;
    add(state.bySource, 'md_halt', ex.halted);
    const m = metrics();
    if (m) m.explored = { candidates: ex.candidates, halted: ex.halted, above_select: ex.above_select, gamma_max: ex.gamma_max };
    decide(`exploration: ${ex.trajectories} trajectories, ${ex.halted} halted, ${ex.candidates} candidates (max gamma ${ex.gamma_max.toFixed(2)})`);
    return ex;
  };

  // -- routing: a single-model teacher judges the MD candidates by their gamma (the tiered oracle) --------
  const singleModel = () => state.teacherModels.length < 2 || c().teacher.kind !== 'mace';
  const routingPhase = async (ex: ExplorationResult): Promise<MdRouted> => {
    await enter('labelling', `the teacher judges ${ex.candidates} MD candidates`);
    try {
      const r = await live.child(tieredOracleWorkflow, {
        workflowId: childId('md-routing'),
        args: [{
          runDir: state.runDir,
          name: `gen-${g}-md`,
          structureFile: ex.output,
          count: ex.candidates,
          teacher: c().teacher,
          models: state.teacherModels,
          dft: c().dft,
          // A single model has no spread: the MD frames' own extrapolation grades stand in (teacher.gamma_*).
          gamma: ex.gamma,
          dftLimit: 0,
          minDistance: c().generation.min_distance,
          store: { generation: g },
        }],
      });
      const n = r.counts;
      Object.assign(state.candidates, { mdKeptByTeacher: state.candidates.mdKeptByTeacher + n.accept, discarded: state.candidates.discarded + n.discard, rejected: state.candidates.rejected + n.reject });
      add(state.byOracle, c().teacher.kind, n.accept);
      if (c().teacher.label_weight > 0) state.teacherLabels += n.accept;
      decide(`routing of MD candidates (${r.uncertaintySource}): teacher kept ${n.accept}, ${n.queue} for the DFT pool, ${n.discard} discarded, ${n.reject} rejected`);
      return { mdQueue: r.queueFile, teacherLabelled: n.accept > 0 ? r.membersFile : undefined };
    } catch (err) {
      if (!(err instanceof ChildWorkflowFailure)) throw err;
      decide(`the teacher could not judge the MD candidates (${failureText(err)}): all ${ex.candidates} join the DFT pool`);
      return { mdFile: ex.output };
    }
  };

  // -- labelling: MD candidates and teacher-doubted structures, one D-optimal ranking, the budget's worth --
  const labellingPhase = async (pot: { yaml: string }, md: MdRouted | undefined): Promise<Verdict | { file: string; labels: { structureId: string; labelKey: string; index: number }[] }> => {
    const n = Math.min(c().budgets.dft_per_generation, c().budgets.dft_total - state.dft.used);
    if (n <= 0) return { stop: `DFT budget exhausted (${state.dft.used} of ${c().budgets.dft_total})` };
    const waiting = state.pending?.count ?? 0;
    await enter('labelling', `choosing up to ${n} MD candidates and teacher-doubted structures (${waiting} from generation 0) for DFT`);
    const pick = await pickForDft({ runDir: state.runDir, campaign: c(), generation: g, potential: pot.yaml, n, mdQueue: md?.mdQueue, mdFile: md?.mdFile, pending: state.pending?.count ? state.pending.file : undefined });
    if (!pick) return undefined;
    state.pending = pick.pending;
    Object.assign(state.candidates, {
      waitingForDft: pick.pending.count,
      pickedForDft: state.candidates.pickedForDft + pick.ids.length,
      notSelected: state.candidates.notSelected + pick.notSelected,
    });
    const m = metrics();
    if (m) m.pool = { md: pick.pool.md, teacher: pick.pool.teacher, pickedMd: pick.picked.md, pickedTeacher: pick.picked.teacher, notSelected: pick.notSelected, stillWaiting: pick.pending.count };
    decide(`labelling: picked ${pick.ids.length} for DFT (${pick.picked.md} from MD, ${pick.picked.teacher} teacher-doubted; ${pick.method}); ${pick.notSelected} MD candidates not picked, ${pick.pending.count} teacher-doubted still waiting${pick.pool.alreadyLabelled ? `; ${pick.pool.alreadyLabelled} candidates left out as they already have a DFT label` : ''}`);
    add(state.bySource, `active_learning_iter_${g}`, pick.ids.length);
    const labels = await live.child(labellingWorkflow, {
      workflowId: childId('labelling'),
      args: [{ runDir: state.runDir, dft: c().dft, structureFile: pick.file, ids: pick.ids, minDistance: c().generation.min_distance, store: { source: `active_learning_iter_${g}`, generation: g } }],
    });
    state.dft.used += pick.ids.length;
    state.dft.labelled += labels.labelled;
    state.dft.healed += labels.healed;
    state.dft.failed += labels.failed;
    add(state.byOracle, 'dft', labels.labelled);
    if (m) m.dft = { requested: pick.ids.length, labelled: labels.labelled, healed: labels.healed, failed: labels.failed };
    decide(`DFT: ${labels.labelled} of ${pick.ids.length} labelled (${labels.healed} healed, ${labels.failed} failed)`);
    if (!validating) return { file: pick.file, labels: labels.labels };
    const held = await holdOutPicks({ runDir: state.runDir, campaign: c(), generation: g, labels: labels.labels, v: state.validation });
    if (held.decision) decide(held.decision);
    return { file: pick.file, labels: held.train };
  };

  // -- finetune: teacher (optional) and the incremental ACE refit; a failed refit keeps the potential -----
  const finetunePhase = async (pot: NonNullable<CampaignState['potential']>, newDft: { file: string; labels: { structureId: string; labelKey: string; index: number }[] }, teacherLabelled?: string) => {
    const teacherGate = validating ? state.validation.teacher : undefined;
    await enter('finetune', teacherGate?.open === false ? `refitting ACE with ${newDft.labels.length} new DFT labels (the teacher stepped aside)` : `fine-tuning on ${newDft.labels.length} new DFT labels and refitting ACE`);
    try {
      const ft = await live.child(finetuneWorkflow, {
        workflowId: childId('finetune'),
        args: [{ runDir: state.runDir, campaign: c(), generation: g, teacherModels: state.teacherModels, newDft: { structureFile: newDft.file, labels: newDft.labels }, teacherLabelled, previousPotential: pot.yaml, teacherGate }],
      });
      state.teacherModels = ft.teacher.models;
      const m = metrics();
      if (m) m.teacher = { adopted: ft.teacher.adopted, decision: ft.teacher.decision, before: ft.teacher.before, after: ft.teacher.after, dftLabels: ft.teacher.dftLabels, trainedOn: ft.teacher.trainedOn, surrogates: ft.teacher.surrogates, note: ft.teacher.note };
      add(state.bySource, 'surrogate', ft.teacher.surrogates);
      add(state.byOracle, c().teacher.kind, ft.teacher.surrogates);
      if (c().teacher.surrogates.weight > 0) state.teacherLabels += ft.teacher.surrogates;
      decide(`teacher: ${ft.teacher.decision}${ft.teacher.note ? `; ${ft.teacher.note}` : ''}`);
      state.potential = { generation: g + 1, yaml: ft.fit.potentialYaml, yace: ft.fit.yace, asi: ft.fit.asi };
      state.metrics.push({ generation: g + 1, potential: ft.fit.yace, ...ft.fit.metrics });
      decide(`ACE generation ${g + 1}: refit on ${ft.training.new} new structures + ${ft.training.replayed} replayed`);
      if (validating) await validatePhase(g + 1, ft.fit, pot.yaml);
    } catch (err) {
      if (!(err instanceof ChildWorkflowFailure)) throw err;
      decide(`kept the generation-${pot.generation} potential: fine-tuning or the ACE refit failed (${failureText(err)})`);
    }
  };

  // -- the generation -------------------------------------------------------------------------------------
  const stop = async (v: Verdict) => (v ? finish(v.stop) : undefined);
  if (g === 0 && !state.potential) {
    const seeds = state.teacherModels.length === 0 ? await teacherPhase() : [];
    if (validating) await validationPools();
    const d = await distillationPhase(seeds);
    if (d) return (await stop(d))!;
  }
  const pot = state.potential!;
  if (!pot.asi) return finish('the potential has no active set, so exploration cannot measure extrapolation');
  const ex = await explorationPhase({ ...pot, asi: pot.asi });
  if (ex?.converged && !state.pending?.count) return finish(`converged: no halt and no frame above gamma ${c().exploration.gamma_select} in generation ${g}'s MD`);
  if (ex?.converged) decide(`MD converged, but ${state.pending!.count} teacher-doubted structures still wait for DFT`);
  // Random MD candidates of each temperature join the validation set; the rest go on to the teacher and the DFT pool.
  const drawn = validating && ex && ex.candidates > 0 ? await validationPools({ file: ex.output }) : undefined;
  const left = ex && drawn?.ids.length ? { ...ex, output: drawn.rest.file, candidates: drawn.rest.indices.length, gamma: drawn.rest.indices.map((i) => ex.gamma[i]!) } : ex;
  // A teacher the validation set has stepped aside labels nothing: every MD candidate may go to DFT.
  const md = left && left.candidates > 0 ? (singleModel() && state.validation.teacher.open ? await routingPhase(left) : { mdFile: left.output }) : undefined;
  const labelled = await labellingPhase(pot, md);
  if (labelled && 'stop' in labelled) return finish(labelled.stop);
  const fresh = labelled ?? { file: '', labels: [] };
  if (fresh.labels.length > 0 || md?.teacherLabelled) await finetunePhase(pot, fresh, md?.teacherLabelled);
  else if (!labelled && !md) {
    const why = ex && ex.halted > 0
      ? `${ex.halted} MD trajectories halted but none left a usable frame (the halting frames were unphysical or filtered out)`
      : ex ? 'no MD candidate and no teacher-doubted structure' : 'the exploration failed and no teacher-doubted structure waits';
    return finish(`nothing to label in generation ${g}: ${why}`);
  } else decide(`no new labels in generation ${g}: the potential stays at generation ${pot.generation}`);

  state.generation = g + 1;
  if (state.stopAfterGeneration) return finish(`stopped by request after generation ${g}`);
  if (state.generation >= c().budgets.max_generations) return finish(`generation limit reached (${c().budgets.max_generations})`);
  if (state.dft.used >= c().budgets.dft_total) return finish(`DFT budget exhausted (${state.dft.used} of ${c().budgets.dft_total})`);
  await htmlReport();
  await condition(() => !state.paused);
  return continueAsNew<typeof campaignWorkflow>(raw, state);
}

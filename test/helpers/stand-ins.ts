// Stand-in activities for the campaign's wiring test: each records what the real activity would hand
// its tool (the pw.x namelists, Pacemaker's input.yaml, mace_run_train's argv, the MD and generator
// payloads, the routing policy, the selection size ...), built by the same pure functions the real
// activities use, and returns a small plausible result. The generator is the real one (cheap, and the
// campaign's generated set is what the generation keys must change). Nothing else runs a tool: the
// real-tool tests prove the activities; this proves every campaign key reaches them.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { createHash } from 'node:crypto';
import { pacemakerInput } from '../../activities/ace/fit-input';
import type { FitInput } from '../../activities/ace/fit';
import { commandArgv, physicsSettings, type DftLabelInput } from '../../activities/dft/qe';
import { baseSettings, pwInputData } from '../../activities/dft/ladder';
import { deriveCutoffs } from '../../activities/dft/pseudopotentials';
import { prepareCampaign } from '../../activities/campaign/campaign';
import { maceTrainArgs, type MaceTrainInput } from '../../activities/mace/train';
import type { FineTuneInput } from '../../activities/mace/finetune';
import type { FoundationFineTuneInput } from '../../activities/mace/foundation-finetune';
import type { MaceLabelBatchInput } from '../../activities/mace/label';
import { explorePayload, type ExploreInput } from '../../activities/md/explore';
import { generateStructures, generatorRecipe, type GenerateStructuresInput } from '../../activities/structures/generate';
import type { MakeSurrogatesInput } from '../../activities/mace/surrogates';
import { TrainingSchema } from '../../common/campaign-schema';
import { capDft, emptyCounts, route, uncertaintyOf, type RoutingPolicy } from '../../common/routing';

export interface Observed {
  type: string;
  obs: unknown;
}

/** Branches to provoke, per campaign id: what MD finds, whether DFT or the teacher's fine-tune fail. */
export interface Scenario {
  md?: { candidates: number; halted: number };
  dftFails?: boolean;
  fineTuneFails?: boolean;
  teacherWorse?: boolean;
  /** The fit without the teacher's labels scores better on the validation set (the teacher steps aside). */
  teacherUnhelpful?: boolean;
  /** Every refit scores worse on the validation set than generation 0 (the campaign goes back to it). */
  curveRises?: boolean;
  /**
   * 12 validation structures: every refit is 2 meV/Å better than generation 0 on 11 of them and 60 worse on
   * one, so generation 0 scores lower overall by more than the margin but not pair by pair (the latest stays).
   */
  curveNoise?: boolean;
}
export const scenarios = new Map<string, Scenario>();
const scenario = () => scenarios.get(campaignOf()) ?? {};

/** What each campaign (by its workflow id prefix) handed its tools. */
export const observed = new Map<string, Observed[]>();
/** Structures each run generated (file -> ids), for the stand-in oracles and the test's counts. */
export const generated = new Map<string, { ids: string[]; modes: Record<string, number> }>();

const campaignOf = () => Context.current().info.workflowExecution!.workflowId.split('/')[0]!;
const note = (type: string, obs: unknown) => {
  const k = campaignOf();
  if (!observed.has(k)) observed.set(k, []);
  observed.get(k)!.push({ type, obs: JSON.parse(JSON.stringify(obs ?? null)) });
};
const u01 = (s: string) => parseInt(createHash('sha256').update(s).digest('hex').slice(0, 8), 16) / 0xffffffff;

interface Routed {
  decisions: { id: string; index: number; route: string; u: number | null }[];
  file: string;
  oracle: { kind: string; key: string };
}
const routings = new Map<string, Routed>(); // campaign/name -> decisions

/** Candidates per MD output file (the stand-in exploration writes none), for the validation draw. */
const mdCounts = new Map<string, number>();

const metrics = (f: number, e: number) => ({
  n_structures: 5, n_atoms: 20, energy_rmse_mev_atom: e, energy_mae_mev_atom: e, energy_max_mev_atom: e, energy_rmse_mev_atom_offset: e, energy_mae_mev_atom_offset: e, energy_max_mev_atom_offset: e,
  forces_rmse_mev_a: f, forces_mae_mev_a: f, forces_max_mev_a: f, forces_ref_rms_mev_a: 500, stress_rmse_gpa: null, stress_mae_gpa: null, n_stress: 0,
});
const summary = (f: number, e: number) => ({ energyScale: 'absolute' as const, offsets_ev_atom: {}, overall: metrics(f, e), by_group: { bulk: metrics(f, e) } });

/** The curveNoise scenario's scores, per structure as metrics.py's rows: generation 0 all 40 meV/Å, refits 38 and one structure at 100. */
function noisyCurve(input: { potentials: Record<string, string>; curve?: { generation: number; dft_calls: number; dft_trained: number; potential: string; overall?: unknown }[] }) {
  const n = 12;
  const generationOf = (potential: string) => Number(/gen-(\d+)/.exec(potential)?.[1] ?? 0);
  const rows = (g: number) => ({
    ids: Array.from({ length: n }, (_, i) => `v${i}`),
    natoms: Array.from({ length: n }, () => 8),
    forces_rmse_mev_a: Array.from({ length: n }, (_, i) => (g === 0 ? 40 : i === 0 ? 100 : 38)),
    energy_error_mev_atom_offset: Array.from({ length: n }, (_, i) => (i % 2 ? 2 : -2)),
  });
  const scored = (g: number) => {
    const r = rows(g);
    const f = Math.sqrt(r.forces_rmse_mev_a.reduce((a, x) => a + x * x, 0) / n);
    return { overall: { ...metrics(f, 2), n_structures: n, n_atoms: 8 * n }, per_structure: r };
  };
  const scores: Record<string, ReturnType<typeof summary>> = {};
  const perStructure: Record<string, ReturnType<typeof rows>> = {};
  for (const [name, potential] of Object.entries(input.potentials)) {
    const g = generationOf(potential);
    scores[name] = { ...summary(0, 2), overall: scored(g).overall };
    perStructure[name] = rows(g);
  }
  // Points that come with their scores are kept as they are, as the real activity does.
  const curve = input.curve && { structures: n, points: input.curve.map((p) => (p.overall ? p : { ...p, ...scored(p.generation), by_group: {} })) };
  return { structures: n, file: '/stand-in/validation.extxyz', scores, perStructure, failed: {}, curve };
}

const genCache = new Map<string, Awaited<ReturnType<typeof generateStructures>>>();

export const standInControl = {
  prepareCampaign, // the real one: derives and stores the resolved campaign in the run directory
  async writeCampaignReport(input: { runDir: string; status: { candidates: unknown; thresholds: unknown; dft: unknown; generation: number; system: string; campaignId: string }; summary: string[] }) {
    const s = input.status;
    note('report', { candidates: s.candidates, thresholds: s.thresholds, dft: s.dft, generation: s.generation, system: s.system, campaignId: s.campaignId });
    return `${input.runDir}/report/README.md`;
  },
  // The HTML report (matplotlib, the store) is the report tests' part; here only that the campaign asks for it.
  async writeHtmlReport(input: { runDir: string; status: { generation: number; phase: string } }) {
    note('html-report', { generation: input.status.generation, phase: input.status.phase });
    return { file: `${input.runDir}/report/index.html` };
  },
  async generateStructures(input: GenerateStructuresInput) {
    const recipe = generatorRecipe(input.system, input.generation, { count: input.count, seed: input.seed });
    const key = JSON.stringify({ recipe, store: input.store });
    let r = genCache.get(key);
    if (!r) {
      r = await generateStructures({ ...input, returnIds: true });
      genCache.set(key, r);
    }
    generated.set(`${campaignOf()}:${input.name}`, { ids: r.ids!, modes: r.modes });
    generated.set(r.output, { ids: r.ids!, modes: r.modes });
    note('generate', { name: input.name, ids: r.ids, modes: r.modes, store: input.store });
    return input.returnIds === false ? { ...r, ids: undefined } : r;
  },
  async insertStructures(input: { source?: string; generation: number; elements?: string[] }) {
    note('insert', { source: input.source, generation: input.generation, elements: input.elements });
    return { inserted: 1, existing: 0, skipped: 0, duplicatesInFile: 0, count: 1 };
  },
  async addMembers(input: { set: string; generation: number; members?: { weight?: number; oracle: string }[] }) {
    note('members', { set: input.set, generation: input.generation, members: input.members?.map((m) => [m.oracle, m.weight]) });
    return { set: input.set, count: input.members?.length ?? 0 };
  },
  async exportDataset(input: { name: string; sets?: string[]; setGenerations?: unknown; define?: { weight?: number; members?: unknown[] } }) {
    note('export', { name: input.name, sets: input.sets, setGenerations: input.setGenerations, weight: input.define?.weight, members: input.define?.members?.length });
    const f = `/stand-in/${input.name}`;
    return { count: 5, train: 5, test: 0, unlabelled: 0, byOracle: { dft: 5 }, elements: [], files: [], pckl: `${f}.pckl.gzip`, extxyz: `${f}.extxyz` };
  },
  async capRouting(input: { name: string; limit?: number }) {
    const r = routings.get(`${campaignOf()}:${input.name}`)!;
    const bound = r.decisions.filter((d) => d.route === 'dft').map((d) => ({ ...d, u: d.u ?? Infinity }));
    const { dft, deferred } = capDft(bound, input.limit);
    const gone = new Set(deferred.map((d) => d.id));
    for (const d of r.decisions) if (gone.has(d.id)) d.route = 'queue';
    note('cap', { name: input.name, limit: input.limit, toDft: dft.length, deferred: deferred.length });
    return { toDft: dft.map((d) => ({ id: d.id, index: d.index })), deferred: deferred.length };
  },
  async finalizeRouting(input: { name: string; policy: RoutingPolicy; note?: string }) {
    const r = routings.get(`${campaignOf()}:${input.name}`)!;
    const counts = { ...emptyCounts(), total: 0, labelledByFastOracle: 0, labelledByDft: 0, dftFailed: 0, deferred: 0 };
    for (const d of r.decisions) {
      counts[d.route as keyof ReturnType<typeof emptyCounts>]++;
      counts.total++;
      if (d.route === 'accept') counts.labelledByFastOracle++;
    }
    note('routing', { name: input.name, policy: input.policy, counts });
    return { manifest: `/stand-in/${input.name}/manifest.json`, membersFile: `/stand-in/${input.name}/members.json`, queueFile: `/stand-in/${input.name}/queue.json`, counts };
  },
  async writeStructureSubset(input: { indices: number[]; output: string }) {
    return { output: input.output, count: input.indices.length };
  },
  async makeSurrogates(input: MakeSurrogatesInput) {
    const { runDir: _r, ...obs } = input;
    note('surrogates', { ...obs, parents: input.parents.length });
    const ids = input.parents.flatMap((p) => Array.from({ length: input.perStructure }, (_, k) => `s-${p.id}-${k}`));
    return { output: `/stand-in/surrogates-${input.name}.extxyz`, ids, parents: ids.map((i) => i.split('-')[1]!), rejected: 0 };
  },
  async teacherDatasets(input: { generation: number; newLabels: unknown[] }) {
    note('teacher-datasets', { generation: input.generation, newLabels: input.newLabels.length });
    return { train: '/stand-in/ft.extxyz', trainCount: 8, replayed: 6, fresh: '/stand-in/new.extxyz', allDft: '/stand-in/all.extxyz', allDftCount: 10 };
  },
  async recordTeacher(input: { name: string; models: string[] }) {
    return { file: `/stand-in/teacher-${input.name}.json`, models: input.models.map((file) => ({ file, sha256: 'x' })) };
  },
  async recordDftFailure() {
    return '/stand-in/failed.json';
  },
  async drawValidation(input: { name: string; structureFile: string; poolBy: string; perPool: number; limit: number; seed: number }) {
    const { structureFile: _f, ...obs } = input;
    note('validation draw', obs);
    const n = generated.get(input.structureFile)?.ids.length ?? mdCounts.get(input.structureFile) ?? 0;
    const k = Math.min(n, input.limit, input.perPool * 2);
    const ids = Array.from({ length: k }, (_, i) => generated.get(input.structureFile)?.ids[i] ?? `val-${input.name}-${i}`);
    const rest = Array.from({ length: n - k }, (_, i) => i + k);
    return { file: k ? `/stand-in/${input.name}.extxyz` : undefined, ids, groups: ids.map((_, i) => `pool-${i % 2}`), pools: { 'pool-0': n }, rest: { file: k ? `/stand-in/${input.name}.rest.extxyz` : input.structureFile, indices: k ? rest : Array.from({ length: n }, (_, i) => i) } };
  },
  async assembleDftPool(input: { generation: number; mdQueue?: string; mdFile?: string; pending?: string }) {
    const md = input.mdQueue ? 3 : input.mdFile ? 6 : 0;
    const teacher = input.pending ? 4 : 0;
    note('pool', { generation: input.generation, md, teacher });
    return { file: md + teacher ? '/stand-in/pool.extxyz' : undefined, index: '/stand-in/pool.json', count: md + teacher, md, teacher };
  },
  async queueTeacherLabelled(input: { generation: number; manifest: string; pending?: string }) {
    note('queue teacher-labelled', { generation: input.generation, manifest: input.manifest, pending: input.pending ?? null });
    return { file: `/stand-in/pending-aside-${input.generation}.json`, count: 7, added: 7 };
  },
  async splitDftPool(input: { generation: number; pool: { md: number; teacher: number }; indices: number[] }) {
    const picked = { md: input.indices.filter((i) => i < input.pool.md).length, teacher: input.indices.filter((i) => i >= input.pool.md).length };
    return {
      file: `/stand-in/selected-${input.generation}.extxyz`,
      ids: input.indices.map((i) => `pick-${input.generation}-${i}`),
      picked,
      notSelected: input.pool.md - picked.md,
      pending: { file: `/stand-in/pending-${input.generation}.json`, count: input.pool.teacher - picked.teacher },
    };
  },
};

export const standInDft = {
  async dftLabel(input: DftLabelInput) {
    if (scenario().dftFails) throw ApplicationFailure.create({ type: 'ScfNotConverged', nonRetryable: true, message: 'stand-in: SCF did not converge' });
    const d = input.dft;
    const cut = deriveCutoffs(d.pseudo_dir, d.pseudopotentials, d);
    note('pw.x', {
      argv: commandArgv(d.command, d.ranks),
      pwInput: pwInputData({ ...d, ecutwfc: cut.ecutwfc, ecutrho: cut.ecutrho }, baseSettings(d), false),
      kspacing: d.kspacing,
      pseudopotentials: d.pseudopotentials,
      pseudoDir: d.pseudo_dir,
      physics: physicsSettings(d),
      // the activity options (retries = rungs, timeout, concurrency) come from the same settings
      retries: d.max_retries,
      timeout: d.timeout_minutes,
      concurrency: d.concurrency,
      // the cost guard's limits (activities/dft/cost.ts checks the written input against them before pw.x)
      limits: d.limits,
      // where pw.x runs (activities/dft/launch.ts) and the batch job's settings
      launcher: d.launcher,
      slurm: d.slurm,
      minDistance: input.minDistance,
    });
    // About half the labels were healed by switching smearing on (ids ending in an even digit): their own
    // key, and dft.train_physics_changed decides whether they train.
    const physicsChanged = /[02468]$/.test(input.structureId);
    return { structureId: input.structureId, labelKey: `k-${input.structureId}${physicsChanged ? '-mv' : ''}`, labelFile: '/stand-in/label.json', energy: -1, attempt: 1, healed: physicsChanged, physicsChanged, reused: false };
  },
};

export const standInMl = {
  async fitAce(input: FitInput) {
    const t = TrainingSchema.parse(input.training);
    const scratch = !input.initialPotential;
    note('pacemaker', {
      input: pacemakerInput(t, { elements: input.elements, datasetFile: input.datasetFile, maxiter: scratch ? t.maxiter : t.incremental_maxiter, seed: t.seed ?? input.seed, mode: scratch ? 'scratch' : 'continue', previousPotential: input.initialPotential }),
      zblMargin: t.zbl_inner_cutoff === undefined ? t.zbl_margin : undefined,
    });
    const dir = input.outDir;
    return { mode: 'scratch', functionsPerElement: {}, potentialYaml: `${dir}/potential.yaml`, yace: `${dir}/potential.yace`, asi: `${dir}/potential.asi`, inputYaml: '', logFile: '', workDir: dir,
      metrics: { iterations: 1, train_rmse_energy_mev_atom: 1, train_rmse_forces_mev_a: 1, train_loss: 1, train_structures: 1, wall_seconds: 1 } };
  },
  async trainMace(input: MaceTrainInput) {
    note('mace_run_train', maceTrainArgs(input).filter((a) => !a.startsWith('/')));
    return { model: `/stand-in/${input.name}.model`, wallSeconds: 1 };
  },
  async fineTuneMace(input: FineTuneInput) {
    if (scenario().fineTuneFails) throw ApplicationFailure.create({ type: 'TrainingFailed', nonRetryable: true, message: 'stand-in: torch.cat(): expected a non-empty list' });
    const { outDir: _o, trainFile: _t, ...obs } = input;
    note('mace fine-tune', obs);
    return { model: `/stand-in/tuned-${input.name}.model`, mode: input.replayFile ? 'multihead' : 'naive', foundation: { file: input.foundationModel, sha256: 'x', patched: false }, wallSeconds: 1 };
  },
  async fineTuneChgnet(input: FoundationFineTuneInput) {
    const { output: _o, trainFile: _t, ...obs } = input;
    note('chgnet fine-tune', obs);
    return { model: '/stand-in/tuned-chgnet.pt', referenceShift: { '14': -100 }, energyRmseBeforeShift: 1e5, energyRmseAfterShift: 50, train: 8, valid: 2, wallSeconds: 1 };
  },
  async fineTuneSevennet(input: FoundationFineTuneInput) {
    const { output: _o, trainFile: _t, ...obs } = input;
    note('sevennet fine-tune', obs);
    return { model: `/stand-in/tuned-sevennet-${obs.foundation ? 'again' : 'seed'}.pt`, referenceShift: { Cu: -100, Au: -90 }, energyRmseBeforeShift: 1e5, energyRmseAfterShift: 40, train: 8, valid: 2, wallSeconds: 1 };
  },
  async fitSevennetReference(input: { dataset: string; output: string; device?: string }) {
    note('sevennet reference', { device: input.device });
    return { reference: input.output, shift: { Cu: -100, Au: -90 }, structures: 8, energyRmseBeforeShift: 1e5, energyRmseAfterShift: 40 };
  },
  async maceScore(input: { models: string[] }) {
    const tuned = input.models.some((m) => m.includes('tuned')) !== Boolean(scenario().teacherWorse);
    return { n: 10, flagged: 0, rmse_energy_mev_atom: tuned ? 15 : 20, mae_energy_mev_atom: 10, rmse_forces_mev_a: tuned ? 80 : 100, oracle_key: 'k' };
  },
  async maceLabelBatch(input: MaceLabelBatchInput) {
    const known = generated.get(input.structureFile)?.ids;
    const start = input.start ?? 0;
    const n = input.ids?.length ?? input.count!;
    const ids = input.ids ?? Array.from({ length: n }, (_, j) => known?.[start + j] ?? `${input.structureFile}#${start + j}`);
    const committee = (input.oracle.kind ?? 'mace') === 'mace' && (input.oracle.models?.length ?? 0) > 1;
    const items = ids.map((id) => (committee ? { id, fStd: 0.6 * u01(id) } : { id }));
    note('fast oracle', { oracle: input.oracle, provenance: input.provenance, batch: n, route: input.route && { name: input.route.name, policy: input.route.policy } });
    if (input.route) {
      const r = input.route;
      const k = `${campaignOf()}:${r.name}`;
      if (!routings.has(k)) routings.set(k, { decisions: [], file: input.structureFile, oracle: { kind: input.oracle.kind ?? 'mace', key: 'k' } });
      const decisions = routings.get(k)!.decisions;
      items.forEach((it, j) => {
        const judged = { fStd: (it as { fStd?: number }).fStd, gamma: r.gamma?.[j] };
        const u = uncertaintyOf(judged, r.policy);
        decisions.push({ id: it.id, index: start + j, route: route(judged, r.policy), u: Number.isFinite(u) ? u : null });
      });
    }
    return { oracle: { kind: input.oracle.kind ?? 'mace', key: 'k', committee, size: input.oracle.models?.length ?? 1, version: 'stand-in' }, modelHashes: [], computed: n, reused: 0, flagged: 0, items, modelsCached: true, loadSeconds: 0, wallSeconds: 0 };
  },
  async exploreMd(input: ExploreInput) {
    const p = explorePayload(input);
    note('md', { ...p, potential: undefined, active_set: undefined, structures: undefined, output: undefined });
    const md = scenario().md ?? { candidates: 6, halted: 1 };
    const ids = Array.from({ length: md.candidates }, (_, k) => `md-${input.seed}-${k}`);
    mdCounts.set(p.output, md.candidates);
    return { output: p.output, candidates: md.candidates, ids, gamma: ids.map((_, k) => [1.6, 2.5, 4, 6, 9, 30][k % 6]!), halted: md.halted, above_select: md.candidates, gamma_max: md.halted ? 30 : 1.2, trajectories: [] };
  },
  async buildTrainingSet(input: { bufferSize: number; seed: number; generation: number; strategy?: string; trainingFile: string }) {
    note('replay', { bufferSize: input.bufferSize, seed: input.seed, generation: input.generation, strategy: input.strategy });
    return { trainingFile: input.trainingFile, historyFile: '', manifest: '', counts: { training: 5, history: 5, new: 5, replayed: 0, history_before: 0 } };
  },
  async selectDOptimal(input: { n: number; seed?: number }) {
    note('select', { n: input.n, seed: input.seed });
    return { indices: Array.from({ length: input.n }, (_, i) => i), maxvol: input.n, filled: 0, method: 'maxvol', output: '', report: '' };
  },
  async scoreValidation(input: { name: string; potentials: Record<string, string>; curve?: { generation: number; dft_calls: number; dft_trained: number; potential: string }[] }) {
    note('validation score', { name: input.name, potentials: Object.keys(input.potentials), curve: input.curve?.map((p) => [p.generation, p.dft_calls, p.dft_trained]) });
    if (scenario().curveNoise) return noisyCurve(input);
    const unhelpful = Boolean(scenario().teacherUnhelpful);
    const scores: Record<string, ReturnType<typeof summary>> = {};
    if (input.potentials.potential) scores.potential = summary(unhelpful ? 120 : 80, unhelpful ? 9 : 4);
    if (input.potentials.dft_only) scores.dft_only = summary(100, 6);
    if (input.potentials.teacher) scores.teacher = summary(150, 12);
    const force = (g: number) => (scenario().curveRises ? 100 + 40 * g : 100 - g);
    const curve = input.curve && { structures: 5, points: input.curve.map((p) => ({ ...p, overall: metrics(force(p.generation), 5), by_group: {} })) };
    return { structures: 5, file: '/stand-in/validation.extxyz', scores, failed: {}, curve };
  },
  async extrapolationGrade() {
    throw new Error('not used by the campaign');
  },
  async evaluateMace() {
    throw new Error('not used by the campaign');
  },
};

/** Workers on the three queues of the test's namespace with these stand-ins (the workflows are the real ones). */
export async function startStandInWorkers(): Promise<() => Promise<void>> {
  // The campaign's input checks want the teacher's files to exist: empty stand-ins (no activity reads them).
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync('/tmp/autopipe-stand-in', { recursive: true });
  for (const f of ['m0.model', 'm1.model', 'm2.model', 'replay.extxyz']) writeFileSync(`/tmp/autopipe-stand-in/${f}`, '');
  const { NativeConnection, Worker } = await import('@temporalio/worker');
  const { temporalSettings } = await import('../../host/temporal-config');
  const { TaskQueues } = await import('../../common/queues');
  const { workflowsPath } = await import('../../workers/worker');
  const s = temporalSettings();
  const connection = await NativeConnection.connect({ address: s.address });
  const mk = (taskQueue: string, activities: object, wf = false) =>
    Worker.create({ connection, namespace: s.namespace, taskQueue, activities, ...(wf ? { workflowsPath } : {}), maxConcurrentActivityTaskExecutions: 20 });
  const workers = [await mk(TaskQueues.control, standInControl, true), await mk(TaskQueues.dft, standInDft), await mk(TaskQueues.ml, standInMl)];
  const running = workers.map((w) => w.run());
  return async () => {
    workers.forEach((w) => w.shutdown());
    await Promise.allSettled(running);
    await connection.close();
  };
}

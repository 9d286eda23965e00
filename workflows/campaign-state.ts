// The campaign's state (carried across continueAsNew: small, references only), the status built from it,
// and the tuning rules. Pure and workflow-safe; campaign.ts drives it.
import type { Campaign } from '../common/campaign-schema';
import type { LiveDft, StepProgress } from '../common/progress';
import { budgetProblem, describe, gammaProblem, acceptDftProblem } from '../common/rules';
import type { CampaignStatus, CandidateCounts, GenerationMetrics, Phase, Tuning } from './campaign-api';
import { initialValidation, type ValidationState } from './validation';

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
  candidates: CandidateCounts;
  metrics: GenerationMetrics[];
  /** What each generation decided, in order (every branch records one). */
  decisions: { generation: number; decisions: string[] }[];
  /** The DFT validation set, the teacher's gate and the learning curve. */
  validation: ValidationState;
  /** Teacher-labelled members (labels, surrogates) with a weight > 0 in the training data. */
  teacherLabels: number;
  /** Teacher-doubted structures waiting for DFT: a queue file (structure file + index + uncertainty each). */
  pending?: { file: string; count: number };
  /** The generated candidates the teacher labelled (generation 0's routing manifest); `queued` once they
   * joined the DFT queue because the teacher stepped aside. */
  distilled?: { manifest: string; kept: number; queued?: boolean };
  paused: boolean;
  stopAfterGeneration: boolean;
}

export function initialState(campaignId: string, campaign: Campaign): CampaignState {
  return {
    campaignId,
    runDir: '',
    campaign,
    generation: 0,
    teacherModels: campaign.teacher.models,
    dft: { used: 0, labelled: 0, healed: 0, failed: 0 },
    bySource: {},
    byOracle: {},
    candidates: { generated: 0, keptByTeacher: 0, discarded: 0, rejected: 0, waitingForDft: 0, mdHarvested: 0, mdKeptByTeacher: 0, pickedForDft: 0, notSelected: 0 },
    metrics: [],
    validation: initialValidation(),
    teacherLabels: 0,
    decisions: [],
    paused: false,
    stopAfterGeneration: false,
  };
}

export const add = (m: Record<string, number>, k: string, n: number) => void (m[k] = (m[k] ?? 0) + n);

/** What running children have reported (workflows/progress.ts): their DFT counters and progress records. */
export interface LiveView {
  dft: LiveDft;
  records: StepProgress[];
}

/** The status query's answer: the settled state plus, when given, what the running children have done so far. */
export function buildStatus(state: CampaignState, phase: Phase, current: string | undefined, stopReason: string | undefined, live?: LiveView): CampaignStatus {
  const c = state.campaign;
  const d = state.dft;
  const l = live?.dft;
  return {
    campaignId: state.campaignId,
    system: c.system.name,
    runDir: state.runDir,
    phase: state.paused && phase !== 'finished' ? 'paused' : phase,
    generation: state.generation,
    paused: state.paused,
    stopAfterGeneration: state.stopAfterGeneration,
    stopReason,
    current,
    structures: { bySource: { ...state.bySource }, byOracle: { ...state.byOracle } },
    candidates: { ...state.candidates },
    // Counted live: the calculations a running labelling workflow has finished count at once.
    dft: l ? { used: d.used + l.done, labelled: d.labelled + l.labelled, healed: d.healed + l.healed, failed: d.failed + l.failed, running: l.running, budget: c.budgets.dft_total } : { ...d, budget: c.budgets.dft_total },
    thresholds: { accept: c.teacher.accept_threshold, dft: c.teacher.dft_threshold, gammaSelect: c.exploration.gamma_select, gammaHalt: c.exploration.gamma_halt },
    teacher: { models: state.teacherModels.length, uncertainty: state.teacherModels.length > 1 ? 'committee' : 'ace-gamma' },
    potential: state.potential,
    metrics: state.metrics,
    validation: { requested: state.validation.requested, labelled: state.validation.labelled, failed: state.validation.failed, byGroup: { ...state.validation.byGroup }, teacher: { ...state.validation.teacher }, curve: state.validation.curve },
    decisions: state.decisions,
    progress: live?.records,
  };
}

export function applyTune(x: Campaign, t: Tuning): void {
  if (t.accept_threshold !== undefined) x.teacher.accept_threshold = t.accept_threshold;
  if (t.dft_threshold !== undefined) x.teacher.dft_threshold = t.dft_threshold;
  if (t.gamma_select !== undefined) x.exploration.gamma_select = t.gamma_select;
  if (t.gamma_halt !== undefined) x.exploration.gamma_halt = t.gamma_halt;
  if (t.dft_total !== undefined) x.budgets.dft_total = t.dft_total;
  if (t.dft_per_generation !== undefined) x.budgets.dft_per_generation = t.dft_per_generation;
  if (t.max_generations !== undefined) x.budgets.max_generations = t.max_generations;
}

/** The problems a tuning would cause, by the same rules as the campaign schema (common/rules.ts). */
export function tuneProblems(x: Campaign, t: Tuning, dftUsed: number): string[] {
  const accept = t.accept_threshold ?? x.teacher.accept_threshold;
  const select = t.gamma_select ?? x.exploration.gamma_select;
  const out: string[] = [];
  const a = acceptDftProblem(accept, t.dft_threshold ?? x.teacher.dft_threshold);
  if (a) out.push(describe(a, accept));
  const g = gammaProblem(select, t.gamma_halt ?? x.exploration.gamma_halt);
  if (g) out.push(describe(g, select));
  const b = t.dft_total !== undefined ? budgetProblem(t.dft_total, dftUsed) : undefined;
  if (b) out.push(describe(b, t.dft_total));
  return out;
}

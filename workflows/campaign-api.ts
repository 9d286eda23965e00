// The campaign workflow's public surface: signals, updates and the status query, shared by the
// workflow and every client (CLI, tests). Plain definitions only: safe on both sides.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import type { StepProgress } from '../common/progress';
import type { GenerationValidation, LearningCurve } from '../common/evaluation';

export const Phases = ['preparing', 'teacher', 'distillation', 'exploration', 'labelling', 'finetune', 'paused', 'finished', 'failed'] as const;
export type Phase = (typeof Phases)[number];

export interface GenerationMetrics {
  generation: number;
  potential: string;
  test_rmse_energy_mev_atom?: number;
  test_rmse_forces_mev_a?: number;
  train_rmse_energy_mev_atom: number;
  train_rmse_forces_mev_a: number;
  iterations: number;
  /** ACE functions per element of its basis (fewer than training asks for while the data cannot support them). */
  functions_per_element?: number;
  explored?: { candidates: number; halted: number; above_select: number; gamma_max: number };
  /** What competed for this generation's DFT budget and what was picked (most informative first). */
  pool?: { md: number; teacher: number; pickedMd: number; pickedTeacher: number; notSelected: number; stillWaiting: number };
  dft?: { requested: number; labelled: number; healed: number; failed: number };
  /** The fine-tuned committee, scored on every DFT label so far before it is adopted. */
  teacher?: {
    adopted: boolean;
    decision: string;
    before?: { rmse_energy_mev_atom: number; rmse_forces_mev_a: number };
    after?: { rmse_energy_mev_atom: number; rmse_forces_mev_a: number };
    dftLabels: number;
    trainedOn?: { new: number; replayed: number };
    surrogates: number;
    note?: string;
  };
  /** The potential (and the teacher) on the campaign's DFT validation set, with the DFT calls spent: one point of the learning curve. */
  validation?: GenerationValidation;
}

/** Every candidate structure is accounted for: trained on, labelled, waiting, or dropped with a reason. */
export interface CandidateCounts {
  /** Generated at generation 0 and how the teacher routed them. */
  generated: number;
  keptByTeacher: number;
  discarded: number;
  rejected: number;
  /** Teacher-doubted structures waiting for the DFT budget (they compete with MD picks each generation). */
  waitingForDft: number;
  /** MD candidates harvested, kept with the teacher's label (training data), picked for DFT, and not picked
   * (not carried over: the next MD samples anew). */
  mdHarvested: number;
  mdKeptByTeacher: number;
  pickedForDft: number;
  notSelected: number;
}

export interface CampaignStatus {
  campaignId: string;
  system: string;
  runDir: string;
  phase: Phase;
  generation: number;
  paused: boolean;
  stopAfterGeneration: boolean;
  stopReason?: string;
  current?: string;
  structures: { bySource: Record<string, number>; byOracle: Record<string, number> };
  candidates: CandidateCounts;
  /** Counted live: finished calculations of running children included; `running` = structure ids in pw.x now. */
  dft: { used: number; budget: number; labelled: number; healed: number; failed: number; running?: string[] };
  thresholds: { accept: number; dft: number; gammaSelect: number; gammaHalt: number };
  teacher: { models: number; uncertainty: 'committee' | 'ace-gamma' };
  potential?: { generation: number; yaml: string; yace: string; asi?: string };
  metrics: GenerationMetrics[];
  /** The campaign's DFT validation set (never trained on) and the teacher's gate. */
  validation?: {
    /** DFT calls spent on it, labels in it (by pool: generator modes, md_<T>K, picked), failures. */
    requested: number;
    labelled: number;
    failed: number;
    byGroup: Record<string, number>;
    /** Whether the teacher's labels still train (decided by the fit with them against the fit without). */
    teacher: { open: boolean; decidedAt?: number; reason: string };
    /** Every generation's potential re-scored on the current validation set. */
    curve?: LearningCurve;
  };
  /** Every decision the campaign took, per generation, in order (also the branches that skip a step). */
  decisions: { generation: number; decisions: string[] }[];
  /** What the running child workflows report (outermost first): step, n of m, DFT counters. */
  progress?: StepProgress[];
}

export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const stopAfterGenerationSignal = defineSignal('stopAfterGeneration');
export const statusQuery = defineQuery<CampaignStatus>('status');

/** Thresholds and budgets that may change while a campaign runs; each validated before it is accepted. */
export const TuningSchema = z
  .strictObject({
    accept_threshold: z.number().positive('must be > 0').optional(),
    dft_threshold: z.number().positive('must be > 0').optional(),
    gamma_select: z.number().positive('must be > 0').optional(),
    gamma_halt: z.number().positive('must be > 0').optional(),
    dft_total: z.number().int().nonnegative('must be >= 0').optional(),
    dft_per_generation: z.number().int().positive('must be > 0').optional(),
    max_generations: z.number().int().positive('must be > 0').optional(),
  })
  .refine((t) => Object.keys(t).length > 0, 'give at least one value to change');
export type Tuning = z.infer<typeof TuningSchema>;
export const tuneUpdate = defineUpdate<CampaignStatus['thresholds'] & { dft_total: number; dft_per_generation: number; max_generations: number }, [Tuning]>('tune');

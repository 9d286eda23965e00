// Exploration (ml queue): MD with the current ACE potential and its active set; halts on gamma, harvests
// uncertain frames as DFT candidates. The MD is the md-explore Python helper: the compiled ACE engine of
// activities/md/engine.py (numba kernel and neighbour lists), all trajectories of the ladder in one
// batch on the threads the worker grants (AUTOPIPE_ML_THREADS, else all cores). Heartbeats carry the
// step, running/halted trajectories and the largest gamma; cancellation kills the helper (runTool).
import path from 'node:path';
import { z } from 'zod';
import type { Campaign } from '../../common/campaign-schema';
import { callPython } from '../runtime/python';
import { contract, filePath } from '../runtime/contract';
import { describe, gammaProblem } from '../../common/rules';

const Trajectory = z.object({
  id: z.string(),
  harvested: z.number(),
  halted: z.boolean(),
  steps: z.number(),
  reason: z.string(),
  gamma_max: z.number(),
  temperature: z.number(),
  pressure: z.number(),
  ensemble: z.enum(['npt', 'nvt']),
  natoms: z.number(),
  start: z.string(),
  volume_ratio: z.number(),
  mean_temperature: z.number(),
});

export const ExploreResult = z.object({
  output: z.string(),
  candidates: z.number(),
  ids: z.array(z.string()),
  gamma: z.array(z.number()),
  halted: z.number(),
  above_select: z.number(),
  gamma_max: z.number(),
  largest_cell: z.number(),
  cutouts: z.number(),
  trajectories: z.array(Trajectory),
  engine: z.object({
    name: z.string(),
    threads: z.number(),
    wall_seconds: z.number(),
    atom_steps: z.number(),
    atom_steps_per_s: z.number(),
    neighbour_list_builds: z.number(),
  }),
});
export type ExploreOutput = z.infer<typeof ExploreResult>;
export const MdExplore = contract(
  'md-explore',
  z
    .strictObject({
      potential: filePath(),
      active_set: filePath(),
      structures: filePath(),
      temperatures: z.array(z.number().positive()).min(1),
      pressures: z.array(z.number()),
      ensemble: z.enum(['npt', 'nvt']),
      steps: z.number().int().positive(),
      timestep_fs: z.number().positive(),
      gamma_select: z.number().positive(),
      gamma_halt: z.number().positive(),
      max_atoms_dft: z.number().int().positive(),
      supercell: z.array(z.number().int().positive()).length(3),
      min_distance: z.number().positive(),
      seed: z.number().int().nonnegative(),
      sample_interval: z.number().int().positive(),
      uncertain_from: filePath().optional(),
      uncertain_count: z.number().int().nonnegative(),
      threads: z.number().int().positive().optional(),
      frames_output: filePath().optional(),
      output: filePath(),
    })
    // The campaign's own rule (common/rules.ts), checked here too for callers outside a campaign.
    .superRefine((p, ctx) => {
      const g = gammaProblem(p.gamma_select, p.gamma_halt);
      if (g) ctx.addIssue({ code: 'custom', path: ['gamma_select'], message: describe(g, p.gamma_select) });
    }),
  ExploreResult,
);

export interface ExploreInput {
  outDir: string;
  potential: string;
  activeSet: string;
  /** MD start structures at MD size (extxyz), used as they are. */
  startStructures: string;
  exploration: Campaign['exploration'];
  minDistance: number;
  seed: number;
  /** A Pacemaker dataset (the replay history) whose most uncertain structures also start trajectories. */
  uncertainFrom?: string;
  /** Also write the harvested frames uncut, with per-atom gamma (for checking cut-outs). */
  framesOutput?: string;
}

/** Threads for the exploration kernel: the worker's ML setting, else the helper's default (all cores). */
export function explorationThreads(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const n = Number(env.AUTOPIPE_ML_THREADS);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** The md-explore payload (pure): what the MD helper is asked to do. */
export function explorePayload(input: ExploreInput) {
  const e = input.exploration;
  return {
    potential: input.potential,
    active_set: input.activeSet,
    structures: input.startStructures,
    temperatures: e.temperatures,
    pressures: e.pressures,
    ensemble: e.ensemble,
    steps: e.steps,
    timestep_fs: e.timestep_fs,
    gamma_select: e.gamma_select,
    gamma_halt: e.gamma_halt,
    max_atoms_dft: e.max_atoms_dft,
    supercell: [1, 1, 1],
    min_distance: input.minDistance,
    seed: input.seed,
    sample_interval: 10,
    uncertain_from: input.uncertainFrom,
    uncertain_count: e.uncertain_starts,
    threads: explorationThreads(),
    frames_output: input.framesOutput,
    output: path.join(input.outDir, 'candidates.extxyz'),
  };
}

export async function exploreMd(input: ExploreInput): Promise<ExploreOutput> {
  return callPython(MdExplore, explorePayload(input), { workDir: input.outDir });
}

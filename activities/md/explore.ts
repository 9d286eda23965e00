// Exploration (ml queue): MD with the current ACE potential and its active set; halts on gamma, harvests
// uncertain frames as DFT candidates. The MD itself is the md-explore Python helper (ASE + pyace).
import path from 'node:path';
import { z } from 'zod';
import type { Campaign } from '../../common/campaign-schema';
import { callPython } from '../runtime/python';
import { contract, filePath } from '../runtime/contract';
import { describe, gammaProblem } from '../../common/rules';

export const ExploreResult = z.object({
  output: z.string(),
  candidates: z.number(),
  ids: z.array(z.string()),
  gamma: z.array(z.number()),
  halted: z.number(),
  above_select: z.number(),
  gamma_max: z.number(),
  trajectories: z.array(
    z.object({ id: z.string(), harvested: z.number(), halted: z.boolean(), steps: z.number(), reason: z.string(), gamma_max: z.number() }),
  ),
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
      steps: z.number().int().positive(),
      timestep_fs: z.number().positive(),
      gamma_select: z.number().positive(),
      gamma_halt: z.number().positive(),
      max_atoms_dft: z.number().int().positive(),
      supercell: z.array(z.number().int().positive()).length(3),
      min_distance: z.number().positive(),
      seed: z.number().int().nonnegative(),
      sample_interval: z.number().int().positive(),
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
  startStructures: string;
  exploration: Campaign['exploration'];
  minDistance: number;
  seed: number;
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
    steps: e.steps,
    timestep_fs: e.timestep_fs,
    gamma_select: e.gamma_select,
    gamma_halt: e.gamma_halt,
    max_atoms_dft: e.max_atoms_dft,
    supercell: e.supercell,
    min_distance: input.minDistance,
    seed: input.seed,
    sample_interval: 10,
    output: path.join(input.outDir, 'candidates.extxyz'),
  };
}

export async function exploreMd(input: ExploreInput): Promise<ExploreOutput> {
  return callPython(MdExplore, explorePayload(input), { workDir: input.outDir });
}

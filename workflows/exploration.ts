// Phase 2, exploration: MD with the current ACE potential over the temperature and pressure ladder (NPT by
// default); trajectories halt when gamma exceeds the halt threshold; uncertain frames become DFT
// candidates. Starts are varied: the campaign's own generation recipe (defects, shear, strain) at MD size,
// plus the training structures the potential is least sure of.
import { patched } from '@temporalio/workflow';
import { setCurrentDetails } from './progress';
import type { ExploreOutput } from '../activities/md/explore';
import type { Campaign } from '../common/campaign-schema';
import { control, ml } from './activity-options';
import { runLayout } from '../common/run-layout';

export interface ExplorationInput {
  runDir: string;
  campaign: Campaign;
  generation: number;
  /** The potential explored, and the generation it was fitted at (its training set seeds uncertain starts). */
  potential: { yaml: string; asi: string; generation?: number };
}

export type ExplorationResult = Omit<ExploreOutput, 'trajectories'> & { trajectories: number; converged: boolean };

/** The MD cell's repeat of the unit cell: the system's supercell times exploration.supercell, axis by axis. */
export function mdSupercell(system: readonly number[], exploration: readonly number[]): [number, number, number] {
  return [0, 1, 2].map((i) => system[i]! * exploration[i]!) as [number, number, number];
}

export async function explorationWorkflow(input: ExplorationInput): Promise<ExplorationResult> {
  const { runDir, campaign: c, generation: g } = input;
  const x = c.exploration;
  setCurrentDetails('preparing MD start structures');
  // Generated at the MD cell size, so a defect is one defect in the MD cell, not a periodic array of them.
  // The MD cell is the system's cell (unit cell x system.supercell) x exploration.supercell. Campaigns
  // started before the patch took exploration.supercell of the bare unit cell: with a cubic fcc unit and
  // system.supercell [2, 1, 1], [1, 1, 1] gave 4-atom MD cells (3 atoms with a vacancy), not the 8-atom
  // system cell, and a primitive unit could not hold a vacancy at all.
  const mdCell = patched('md-cell-of-system') ? mdSupercell(c.system.supercell, x.supercell) : x.supercell;
  const starts = await control.generateStructures({
    runDir,
    name: `gen-${g}-md-starts`,
    system: { ...c.system, supercell: mdCell },
    generation: c.generation,
    count: x.start_structures,
    seed: c.seed + 1000 * (g + 1),
  });
  const run = runLayout(runDir);
  setCurrentDetails(`MD (${x.ensemble}) from ${starts.ids.length} + ${x.uncertain_starts} starts over ${x.temperatures.length} temperatures x ${x.ensemble === 'npt' ? x.pressures.length : 1} pressures`);
  const r = await ml.exploreMd({
    outDir: run.exploration(g),
    potential: input.potential.yaml,
    activeSet: input.potential.asi,
    startStructures: starts.output,
    exploration: x,
    minDistance: c.generation.min_distance,
    seed: c.seed + g,
    // The most uncertain structures of the data this potential was fitted on also start trajectories.
    uncertainFrom: x.uncertain_starts > 0 ? run.trainingSet(input.potential.generation ?? g) : undefined,
  });
  // Converged: nothing halted and no frame reached the select threshold within the MD budget.
  const converged = r.halted === 0 && r.above_select === 0;
  return { ...r, trajectories: r.trajectories.length, converged };
}

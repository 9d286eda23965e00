// Phase 2, exploration: MD with the current ACE potential over the temperature and pressure ladder;
// trajectories halt when gamma exceeds the halt threshold; uncertain frames become DFT candidates.
import { setCurrentDetails } from '@temporalio/workflow';
import type { ExploreOutput } from '../activities/md/explore';
import { GenerationSchema, type Campaign } from '../common/campaign-schema';
import { control, ml } from './activity-options';
import { runLayout } from '../common/run-layout';

export interface ExplorationInput {
  runDir: string;
  campaign: Campaign;
  generation: number;
  potential: { yaml: string; asi: string };
}

export type ExplorationResult = Omit<ExploreOutput, 'trajectories'> & { trajectories: number; converged: boolean };

export async function explorationWorkflow(input: ExplorationInput): Promise<ExplorationResult> {
  const { runDir, campaign: c, generation: g } = input;
  setCurrentDetails('preparing MD start structures');
  // Two near-perfect start cells from the campaign's generator (plain strain and rattle only).
  const starts = await control.generateStructures({
    runDir,
    name: `gen-${g}-md-starts`,
    system: { ...c.system, supercell: [1, 1, 1] },
    generation: GenerationSchema.parse({ count: 2, rattle_sigma: 0.02, volume_range: [0.99, 1.01], shear_fraction: 0, vacancy_fraction: 0, min_distance: c.generation.min_distance }),
    seed: c.seed + 1000 * (g + 1),
  });
  setCurrentDetails(`MD over ${c.exploration.temperatures.length} temperatures x ${c.exploration.pressures.length} pressures`);
  const r = await ml.exploreMd({
    outDir: runLayout(runDir).exploration(g),
    potential: input.potential.yaml,
    activeSet: input.potential.asi,
    startStructures: starts.output,
    exploration: c.exploration,
    minDistance: c.generation.min_distance,
    seed: c.seed + g,
  });
  // Converged: nothing halted and no frame reached the select threshold within the MD budget.
  const converged = r.halted === 0 && r.above_select === 0;
  return { ...r, trajectories: r.trajectories.length, converged };
}

// Phase 2, exploration: MD with the current ACE potential over the temperature and pressure ladder;
// trajectories halt when gamma exceeds the halt threshold; uncertain frames become DFT candidates.
import { setCurrentDetails } from './progress';
import type { ExploreOutput } from '../activities/md/explore';
import type { Campaign } from '../common/campaign-schema';
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
  const starts = await control.makeStructures({
    runDir,
    name: `gen-${g}-md-starts`,
    system: c.system,
    count: 2,
    rattleSigma: 0.02,
    volumeRange: [0.99, 1.01],
    minDistance: c.generation.min_distance,
    seed: c.seed + 1000 * (g + 1),
    supercell: [1, 1, 1],
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

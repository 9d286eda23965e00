// The foundation's smoke pipeline: every real tool once, through Temporal and all three task queues.
// Generate Si cells -> pw.x labels (dft queue) -> datasets -> pacemaker fit + MACE training (ml queue)
// -> MACE committee evaluation. Used by the demo until the campaign workflow runs it for real.
import { executeChild, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import type { CampaignInput } from '../common/campaign-schema';
import { parseCampaignOrFail } from './config';
import { control, ml } from './activity-options';
import { labellingWorkflow } from './labelling';
import { runLayout } from '../common/run-layout';

export interface SmokeInput {
  runDir: string;
  campaign: CampaignInput;
  structures?: number;
  fitIterations?: number;
  maceEpochs?: number;
}

export interface SmokeResult {
  structures: number;
  labelled: number;
  failed: number;
  dataset: string;
  potential: { yaml: string; yace: string; asi?: string };
  fitMetrics: Record<string, number | undefined>;
  maceModels: string[];
  maceMeanForceStd: number | null;
}

export async function smokeWorkflow(input: SmokeInput): Promise<SmokeResult> {
  const c = parseCampaignOrFail(input.campaign);
  const { runDir } = input;
  const run = runLayout(runDir);
  setCurrentDetails('generating structures');
  const made = await control.generateStructures({
    runDir,
    name: 'smoke',
    system: c.system,
    generation: { ...c.generation, shear_fraction: 0, vacancy_fraction: 0, interstitial_fraction: 0, antisite_fraction: 0, surface_fraction: 0 },
    count: input.structures ?? 10,
    seed: c.seed,
  });
  setCurrentDetails(`labelling ${made.count} structures with pw.x`);
  const labels = await executeChild(labellingWorkflow, {
    workflowId: `${workflowInfo().workflowId}/labelling`,
    args: [{ runDir, dft: c.dft, structureFile: made.output, ids: made.ids, store: { source: 'smoke', generation: 0 } }],
  });
  const ds = await control.exportDataset({
    runDir,
    name: 'smoke',
    sets: ['smoke'],
    define: { set: 'smoke', generation: 0, members: labels.labels.map((l) => ({ id: l.structureId, oracle: 'dft', settings_hash: l.labelKey })) },
  });
  setCurrentDetails('fitting ACE and training MACE');
  const [fit, m0, m1] = await Promise.all([
    ml.fitAce({ outDir: run.potential('smoke'), datasetFile: ds.pckl!, elements: c.system.elements, training: c.training, seed: c.seed, maxiter: input.fitIterations ?? 20 }),
    ml.trainMace({ outDir: `${run.root}/mace/smoke`, name: 'member-0', trainFile: ds.extxyz!, seed: c.seed, maxEpochs: input.maceEpochs ?? 5, validFraction: 0.2 }),
    ml.trainMace({ outDir: `${run.root}/mace/smoke`, name: 'member-1', trainFile: ds.extxyz!, seed: c.seed + 1, maxEpochs: input.maceEpochs ?? 5, validFraction: 0.2 }),
  ]);
  const ev = await ml.evaluateMace({ models: [m0.model, m1.model], structures: made.output, output: `${run.root}/mace/smoke/eval.extxyz`, workDir: `${run.root}/mace/smoke` });
  const stds = ev.results.map((r) => r.force_std_max).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return {
    structures: made.count,
    labelled: labels.labelled,
    failed: labels.failed,
    dataset: ds.pckl!,
    potential: { yaml: fit.potentialYaml, yace: fit.yace, asi: fit.asi },
    fitMetrics: { ...fit.metrics },
    maceModels: [m0.model, m1.model],
    maceMeanForceStd: stds.length ? stds.reduce((a, b) => a + b, 0) / stds.length : null,
  };
}

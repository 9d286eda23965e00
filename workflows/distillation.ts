// Phase 1, zero-shot distillation: candidates from the campaign's whole generation recipe, labelled and
// routed by the teacher through the tiered oracle (the same workflow the tiered-oracle tests run); the
// confident labels (and the teacher's seed DFT labels) train the generation-0 ACE potential. Structures
// the teacher doubts are not labelled here: they wait in the routing queue, most uncertain first, and
// compete with the MD picks for the campaign's DFT budget.
import { executeChild, workflowInfo } from '@temporalio/workflow';
import { setCurrentDetails } from './progress';
import type { RouteCounts } from '../common/routing';
import type { Campaign } from '../common/campaign-schema';
import { control } from './activity-options';
import { aceRefit, type AceRefit } from './ace-refit';
import { tieredOracleWorkflow } from './tiered-oracle';
import type { DftLabelRefLite } from './teacher';

export interface DistillationInput {
  runDir: string;
  campaign: Campaign;
  teacherModels: string[];
  /** DFT labels the campaign already has (the teacher's seeds): they train generation 0 too, weight 1. */
  dftLabels?: DftLabelRefLite[];
}

export interface DistillationResult {
  generated: number;
  /** Structures per generator mode (bulk, shear, vacancy, ...). */
  modes: Record<string, number>;
  candidateFile: string;
  /** Routing counts of the candidates; `kept` = accepted teacher labels. */
  routes: RouteCounts;
  kept: number;
  committee: boolean;
  note: string | null;
  /** The routing manifest and the DFT-bound structures waiting for the DFT phase (uncertainty order in the file). */
  manifest: string;
  queueFile: string;
  queued: number;
  /** Absent when nothing could train generation 0 (the reason is in `skipped`). */
  training?: AceRefit['counts'] & { file: string };
  fit?: AceRefit['fit'];
  skipped?: string;
}

export async function distillationWorkflow(input: DistillationInput): Promise<DistillationResult> {
  const { runDir, campaign: c } = input;
  setCurrentDetails(`generating ${c.generation.count} candidates`);
  const made = await control.generateStructures({
    runDir,
    name: 'gen-0-candidates',
    system: c.system,
    generation: c.generation,
    seed: c.seed,
    store: { source: 'initial_random', generation: 0, onDuplicate: 'skip' },
    returnIds: false, // thousands of candidates: their ids stay in the file
  });
  const routed = await executeChild(tieredOracleWorkflow, {
    workflowId: `${workflowInfo().workflowId}/tiered-oracle`,
    args: [{
      runDir,
      name: 'gen-0-distillation',
      structureFile: made.output,
      count: made.count,
      teacher: c.teacher,
      models: input.teacherModels,
      dft: c.dft,
      // A single model has no uncertainty and no ACE potential exists yet: keep what it can label.
      withoutUncertainty: 'accept',
      // Nothing is labelled by DFT here: the DFT-bound wait in the queue for the campaign's DFT phase.
      dftLimit: 0,
      minDistance: c.generation.min_distance,
      store: { source: 'initial_random', generation: 0 },
    }],
  });
  const r = routed.counts;
  const out: DistillationResult = {
    generated: made.count,
    modes: made.modes,
    candidateFile: made.output,
    routes: { accept: r.accept, dft: r.dft, discard: r.discard, queue: r.queue, reject: r.reject },
    kept: r.labelledByFastOracle,
    committee: routed.uncertaintySource === 'committee',
    note: routed.note,
    manifest: routed.manifest,
    queueFile: routed.queueFile,
    queued: r.queue,
  };
  const seeds = (input.dftLabels ?? []).map((l) => ({ id: l.structureId, oracle: 'dft', settings_hash: l.labelKey, weight: 1, config_type: 'dft' }));
  if (out.kept + seeds.length === 0) {
    out.skipped = `no training data for generation 0: the teacher kept none of ${made.count} candidates (${r.queue} wait for DFT, ${r.discard} discarded, ${r.reject} rejected) and there are no DFT labels`;
    return out;
  }
  setCurrentDetails(`fitting generation-0 ACE on ${out.kept} teacher labels and ${seeds.length} DFT labels`);
  // Teacher labels weigh less than DFT labels (teacher.label_weight), and keep that weight in the replay history.
  const ace = await aceRefit({ runDir, campaign: c, generation: 0, members: seeds, membersFile: { file: routed.membersFile, weight: c.teacher.label_weight } });
  out.training = { ...ace.counts, file: ace.trainingFile };
  out.fit = ace.fit;
  return out;
}

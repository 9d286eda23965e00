// The ACE fit of a generation from the run's store: the generation's training data is a named set of
// exact labels (set "training", generation g); the refit trains on all of it plus a replay of the earlier
// generations' training data (the store's set, generations < g) up to training.replay_buffer_size, and
// starts from the previous potential when there is one.
import type { FitResult } from '../activities/ace/fit';
import type { MemberInput } from '../activities/store/store';
import type { Campaign } from '../common/campaign-schema';
import { runLayout } from '../common/run-layout';
import { control, ml } from './activity-options';

export const TRAINING_SET = 'training';

export interface AceRefitInput {
  runDir: string;
  campaign: Campaign;
  /** The potential's generation: its training data is the set's members of this generation. */
  generation: number;
  /** New members of this generation's training data (inline, a bounded list) ... */
  members?: MemberInput[];
  /** ... and/or a members file (e.g. the tiered oracle's, for thousands of structures), with a default weight. */
  membersFile?: { file: string; weight: number };
  previousPotential?: string;
  /** Train only on members labelled by these oracles (['dft']: without the teacher's labels), history included. */
  oracles?: string[];
  /** A second fit of the same generation beside the main one (potentials/gen-N-<variant>/); adds no members. */
  variant?: string;
}

export interface AceRefit {
  trainingFile: string;
  counts: { training: number; history: number; new: number; replayed: number };
  fit: Pick<FitResult, 'potentialYaml' | 'yace' | 'asi' | 'metrics'>;
}

export async function aceRefit(input: AceRefitInput): Promise<AceRefit> {
  const { runDir, campaign: c, generation: g } = input;
  const run = runLayout(runDir);
  const v = input.variant;
  const stem = `gen-${g}${v ? `-${v}` : ''}`;
  if (input.members?.length && !v) await control.addMembers({ runDir, set: TRAINING_SET, generation: g, members: input.members });
  const fresh = await control.exportDataset({
    runDir,
    name: `${stem}-new`,
    formats: ['pckl'],
    sets: [TRAINING_SET],
    setGenerations: { min: g, max: g },
    setOracles: input.oracles,
    define: !v && input.membersFile ? { set: TRAINING_SET, generation: g, membersFile: input.membersFile.file, weight: input.membersFile.weight } : undefined,
  });
  // The replay history is an export of the store (earlier generations' training data), never a second copy.
  const history = g > 0
    ? (await control.exportDataset({ runDir, name: `${stem}-history`, formats: ['pckl'], sets: [TRAINING_SET], setGenerations: { max: g - 1 }, setOracles: input.oracles })).pckl!
    : run.dataset(`${stem}-history.pckl.gzip`);
  const ts = await ml.buildTrainingSet({
    historyFile: history,
    newDataset: fresh.pckl!,
    trainingFile: run.trainingSet(g, v),
    bufferSize: c.training.replay_buffer_size,
    seed: c.seed + g,
    generation: g,
    strategy: c.training.replay_selection,
    potential: input.previousPotential,
  });
  // Too few structures for Pacemaker's test split (its rounding: floor(n × test_size)), e.g. a DFT-only fit
  // of a few labels once the teacher stepped aside: fitted without one rather than not at all.
  const noTest = c.training.test_size > 0 && Math.floor(ts.counts.training * c.training.test_size) === 0;
  const fit = await ml.fitAce({
    outDir: run.potential(v ? `${stem}` : g),
    datasetFile: ts.trainingFile,
    elements: c.system.elements,
    training: noTest ? { ...c.training, test_size: 0 } : c.training,
    seed: c.seed + g,
    initialPotential: input.previousPotential,
    basisFromData: true,
  });
  return {
    trainingFile: ts.trainingFile,
    counts: { training: ts.counts.training, history: ts.counts.history_before, new: ts.counts.new, replayed: ts.counts.replayed },
    fit: { potentialYaml: fit.potentialYaml, yace: fit.yace, asi: fit.asi, metrics: fit.metrics },
  };
}

// Phase 1, zero-shot distillation: generate candidates, label them with the MACE teacher in batches,
// keep the confident ones (committee force std <= accept threshold), fit the generation-0 ACE potential.
// Structures the teacher is unsure of (above the DFT threshold) are handed to the DFT phase.
import { setCurrentDetails } from './progress';
import type { FitResult } from '../activities/ace/fit';
import type { Campaign } from '../common/campaign-schema';
import { control, ml } from './activity-options';
import { route, routingPolicy, type Route } from '../common/routing';
import { runLayout } from '../common/run-layout';

export interface DistillationInput {
  runDir: string;
  campaign: Campaign;
  teacherModels: string[];
}

export interface DistillationResult {
  generated: number;
  kept: number;
  discarded: number;
  flagged: number;
  committee: boolean;
  candidateFile: string;
  toDft: { id: string; index: number }[];
  trainingEntries: { structure_file: string; index: number; label_file: string; name: string }[];
  datasetFile: string;
  trainingSet: number;
  fit: Pick<FitResult, 'potentialYaml' | 'yace' | 'asi' | 'metrics'>;
}

export async function distillationWorkflow(input: DistillationInput): Promise<DistillationResult> {
  const { runDir, campaign: c } = input;
  const run = runLayout(runDir);
  setCurrentDetails('generating candidates');
  const made = await control.makeStructures({
    runDir,
    name: 'gen-0-candidates',
    system: c.system,
    count: c.generation.count,
    rattleSigma: c.generation.rattle_sigma,
    volumeRange: c.generation.volume_range,
    minDistance: c.generation.min_distance,
    seed: c.seed,
  });
  const items: { id: string; index: number; fStd?: number; flag?: string; labelFile: string }[] = [];
  for (let start = 0; start < made.ids.length; start += c.teacher.batch_size) {
    const ids = made.ids.slice(start, start + c.teacher.batch_size);
    setCurrentDetails(`teacher labelling ${start + ids.length}/${made.ids.length}`, { done: start, total: made.ids.length, unit: 'structures' });
    const batch = await ml.maceLabelBatch({ runDir, structureFile: made.output, start, ids, oracle: { kind: c.teacher.kind, models: input.teacherModels, device: c.teacher.device } });
    batch.items.forEach((it, j) => items.push({ id: it.id, index: start + j, fStd: it.fStd, flag: it.flag, labelFile: `${batch.labelDir}/${it.id}.json` }));
  }
  const committee = input.teacherModels.length > 1;
  // A committee routes by its force spread. A single model has no uncertainty and, at generation 0, no
  // ACE potential exists for a gamma: every physical label is kept (the campaign status says so).
  const policy = committee ? routingPolicy(c.teacher, input.teacherModels.length, undefined, items.length).policy : undefined;
  const routes = new Map<string, Route>(items.map((it) => [it.id, policy ? route(it, policy) : it.flag ? 'reject' : 'accept']));
  const kept = items.filter((it) => routes.get(it.id) === 'accept');
  // Teacher labels weigh less than DFT labels (teacher.label_weight): equal among themselves at generation 0,
  // they keep that weight in the replay history once DFT data joins.
  const trainingEntries = kept.map((it) => ({ structure_file: made.output, index: it.index, label_file: it.labelFile, name: it.id, weight: c.teacher.label_weight }));
  setCurrentDetails(`fitting generation-0 ACE on ${kept.length} teacher labels`);
  const ds = await control.writeDataset({ workDir: run.datasetsDir, entries: trainingEntries, pckl: run.dataset('gen-0-distilled.pckl.gzip') });
  // The distilled set opens the replay history every later refit samples from.
  const ts = await ml.buildTrainingSet({
    historyFile: run.aceHistory,
    newDataset: ds.pckl!,
    trainingFile: run.dataset('gen-0-training.pckl.gzip'),
    bufferSize: c.training.replay_buffer_size,
    seed: c.seed,
    generation: 0,
  });
  const fit = await ml.fitAce({ outDir: run.potential(0), datasetFile: ts.trainingFile, elements: c.system.elements, training: c.training, seed: c.seed });
  return {
    generated: made.ids.length,
    kept: kept.length,
    discarded: items.filter((it) => ['discard', 'queue', 'reject'].includes(routes.get(it.id)!)).length,
    flagged: items.filter((it) => it.flag).length,
    committee,
    candidateFile: made.output,
    toDft: items.filter((it) => routes.get(it.id) === 'dft' && !it.flag).map((it) => ({ id: it.id, index: it.index })),
    trainingEntries,
    datasetFile: ts.trainingFile,
    trainingSet: ts.counts.training,
    fit: { potentialYaml: fit.potentialYaml, yace: fit.yace, asi: fit.asi, metrics: fit.metrics },
  };
}

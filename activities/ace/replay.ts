// Replay buffer for incremental refits: new structures join a persistent history; the training set is
// all new structures plus replayed history up to training.replay_buffer_size (uniform with the campaign
// seed, or D-optimal with the previous potential). Spec case: history 10 + 10 new, buffer 15 ->
// training set 15 (10 new + 5 replayed), history 20. The pandas work is in pace_replay.py.
import path from 'node:path';
import { z } from 'zod';
import { nonRetryable, parsePayload, requireFile } from './common';
import { NonRetryableErrors } from '../../common/errors';
import { callPython } from '../runtime/python';
import { contract, filePath } from '../runtime/contract';

export const ReplayInputSchema = z.object({
  /** The persistent history (Pacemaker .pckl.gzip); absent before the first generation. */
  historyFile: z.string().min(1),
  /** This generation's new labelled structures (.pckl.gzip with a unique `name` per structure). */
  newDataset: z.string().min(1),
  /** Where this generation's training set goes. */
  trainingFile: z.string().min(1),
  bufferSize: z.number().int().positive(),
  seed: z.number().int().nonnegative(),
  generation: z.number().int().nonnegative(),
  strategy: z.enum(['uniform', 'd-optimal']).default('uniform'),
  /** The previous generation's potential (.yaml): required for d-optimal once history is replayed. */
  potential: z.string().min(1).optional(),
});
export type ReplayInput = z.input<typeof ReplayInputSchema>;

export const AceReplay = contract(
  'ace-replay',
  z.strictObject({
    history: filePath(),
    new: filePath(),
    buffer_size: z.number().int().positive(),
    seed: z.number().int().nonnegative(),
    generation: z.number().int().nonnegative(),
    strategy: z.enum(['uniform', 'd-optimal']),
    potential: filePath().optional(),
    training_out: filePath(),
    history_out: filePath(),
    manifest: filePath(),
  }),
  z.object({
    training: z.number().int(),
    history: z.number().int(),
    new: z.number().int(),
    replayed: z.number().int(),
    history_before: z.number().int(),
  }),
);

export const ReplayResultSchema = z.object({
  training: z.number().int(),
  history: z.number().int(),
  new: z.number().int(),
  replayed: z.number().int(),
  history_before: z.number().int(),
});

export interface ReplayResult {
  trainingFile: string;
  historyFile: string;
  manifest: string;
  counts: z.infer<typeof ReplayResultSchema>;
}

export async function buildTrainingSet(raw: ReplayInput): Promise<ReplayResult> {
  const input = parsePayload(ReplayInputSchema, raw, 'buildTrainingSet input');
  requireFile(input.newDataset, 'new dataset', 'write the generation\'s labels with the dataset activity first');
  requireFile(input.potential, 'potential', 'pass the previous generation\'s potential.yaml');
  if (path.resolve(input.trainingFile) === path.resolve(input.historyFile)) {
    throw nonRetryable(NonRetryableErrors.InvalidInput, 'trainingFile and historyFile must differ: the history keeps every structure, the training set a sample');
  }
  const manifest = input.trainingFile.replace(/(\.pckl\.gzip|\.pkl\.gz)?$/, '.manifest.json');
  const counts = await callPython(
    AceReplay,
    {
      history: path.resolve(input.historyFile),
      new: path.resolve(input.newDataset),
      buffer_size: input.bufferSize,
      seed: input.seed,
      generation: input.generation,
      strategy: input.strategy,
      potential: input.potential && path.resolve(input.potential),
      training_out: path.resolve(input.trainingFile),
      history_out: path.resolve(input.historyFile),
      manifest: path.resolve(manifest),
    },
    { workDir: path.join(path.dirname(path.resolve(input.trainingFile)), 'logs') },
  );
  return { trainingFile: input.trainingFile, historyFile: input.historyFile, manifest, counts };
}

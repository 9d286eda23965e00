// Fine-tuning a single-model foundation teacher (ml queue) on a campaign's DFT labels, from the wheel's
// weights or an earlier fine-tune's file: CHGNet with chgnet's own trainer (helper
// activities/mace/chgnet_finetune.py, which says why the per-element reference is refitted first), or
// SevenNet-0 (activities/mace/sevennet_finetune.py, in a process of its own: e3nn 0.5). One new model file
// per call; the caller names it per generation (common/run-layout.ts). Like every training, a finished fine-tune with the same inputs
// (settings and file contents) is returned as it is: a retry or a campaign started again redoes nothing.
import { ApplicationFailure } from '@temporalio/common';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { NonRetryableErrors } from '../../common/errors';
import { readJsonIfExists, writeFileAtomic } from '../runtime/files';
import { canonicalJson, sha256 } from '../runtime/hashing';
import { callPython } from '../runtime/python';
import { contract, filePath } from '../runtime/contract';

/** The foundation when no file is given: the weights inside the chgnet (sevenn) wheel. */
export const BUNDLED = 'bundled';

export type FoundationKind = 'chgnet' | 'sevennet';

export interface FoundationFineTuneInput {
  /** The fine-tuned model file to write. */
  output: string;
  /** An earlier fine-tune's file; absent: the wheel's weights. */
  foundation?: string;
  /** extxyz with REF_energy / REF_forces / REF_stress (the dataset writer's MACE format). */
  trainFile: string;
  seed: number;
  maxEpochs: number;
  lr: number;
  /** On MACE's scale (forces weigh 100): the energy:force loss ratio is energyWeight / 100. */
  energyWeight: number;
  batchSize?: number;
  validFraction?: number;
}

const History = z.record(z.string(), z.object({ train: z.array(z.number()), val: z.array(z.number()) }));

export const FoundationFinetuneResultSchema = z.object({
  model: z.string(),
  reference_shift_ev_atom: z.record(z.string(), z.number()),
  energy_rmse_before_shift_mev_atom: z.number(),
  energy_rmse_after_shift_mev_atom: z.number(),
  train: z.number().int(),
  valid: z.number().int(),
  targets: z.string(),
  history: History,
  wall_seconds: z.number(),
});

const FoundationFinetuneInputSchema = z.strictObject({
    foundation: z.string().min(1),
    train_file: filePath(),
    output: filePath(),
    seed: z.number().int(),
    max_epochs: z.number().int().nonnegative(), // 0: the energy reference only (zero-shot weights)
    lr: z.number().positive(),
    energy_weight: z.number().positive(),
    batch_size: z.number().int().positive(),
    valid_fraction: z.number().gt(0).lt(1),
    threads: z.number().int().positive(),
});

export const ChgnetFinetune = contract('mace-chgnet-finetune', FoundationFinetuneInputSchema, FoundationFinetuneResultSchema);
export const SevennetFinetune = contract('mace-sevennet-finetune', FoundationFinetuneInputSchema, FoundationFinetuneResultSchema);

export interface FoundationFineTuneResult {
  model: string;
  /** eV/atom added to each element's reference (the QE-vs-MPtrj zero, then each generation's small drift). */
  referenceShift: Record<string, number>;
  /** Energy RMSE on the training labels before and after the reference refit (meV/atom), before training. */
  energyRmseBeforeShift: number;
  energyRmseAfterShift: number;
  train: number;
  valid: number;
  wallSeconds: number;
  reused?: boolean;
}

function invalid(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: NonRetryableErrors.InvalidInput, nonRetryable: true, message });
}

/** Everything that decides the result: the model kind, settings and the contents of the input files. */
export function foundationFingerprint(kind: FoundationKind, input: FoundationFineTuneInput): string {
  return sha256(canonicalJson({
    ...input,
    kind: kind === 'chgnet' ? undefined : kind, // CHGNet's fingerprints predate SevenNet: unchanged, so finished fine-tunes are reused
    output: undefined,
    trainFile: sha256(readFileSync(input.trainFile)),
    foundation: input.foundation ? sha256(readFileSync(input.foundation)) : BUNDLED,
  }));
}

const NAMES: Record<FoundationKind, string> = { chgnet: 'CHGNet', sevennet: 'SevenNet' };

async function fineTuneFoundation(kind: FoundationKind, input: FoundationFineTuneInput): Promise<FoundationFineTuneResult> {
  if (input.foundation && !existsSync(input.foundation)) {
    throw invalid(`${NAMES[kind]} foundation not found: ${input.foundation} (the wheel's weights when none is given, or one file an earlier fine-tune wrote)`);
  }
  if (!existsSync(input.trainFile)) throw invalid(`fine-tuning set not found: ${input.trainFile}`);
  const output = path.resolve(input.output);
  mkdirSync(path.dirname(output), { recursive: true });
  const recordFile = `${output}.json`;
  const fingerprint = foundationFingerprint(kind, input);
  const done = readJsonIfExists<{ fingerprint: string; result: FoundationFineTuneResult }>(recordFile);
  if (done?.fingerprint === fingerprint && existsSync(output)) return { ...done.result, reused: true };
  const work = path.join(path.dirname(output), 'logs');
  // A process of its own per fine-tune (not the labelling servers): minutes of training must not hold up
  // labelling, and SevenNet's e3nn 0.5 cannot share a process with MACE's 0.4.
  const r = await callPython(
    kind === 'chgnet' ? ChgnetFinetune : SevennetFinetune,
    {
      foundation: input.foundation ? path.resolve(input.foundation) : BUNDLED,
      train_file: path.resolve(input.trainFile),
      output,
      seed: input.seed,
      max_epochs: input.maxEpochs,
      lr: input.lr,
      energy_weight: input.energyWeight,
      batch_size: input.batchSize ?? 4,
      valid_fraction: input.validFraction ?? 0.2,
      threads: Math.max(1, Number(process.env.AUTOPIPE_ML_THREADS ?? 1) || 1), // as the ml helper server: one torch thread unless told
    },
    { workDir: work, logFile: path.join(work, `${path.basename(output)}.log`) },
  );
  const result: FoundationFineTuneResult = {
    model: r.model,
    referenceShift: r.reference_shift_ev_atom,
    energyRmseBeforeShift: r.energy_rmse_before_shift_mev_atom,
    energyRmseAfterShift: r.energy_rmse_after_shift_mev_atom,
    train: r.train,
    valid: r.valid,
    wallSeconds: r.wall_seconds,
  };
  writeFileAtomic(recordFile, JSON.stringify({ fingerprint, result, history: r.history, targets: r.targets }, null, 1));
  return result;
}

/** CHGNet fine-tuned from the chgnet wheel's weights or an earlier fine-tune. */
export const fineTuneChgnet = (input: FoundationFineTuneInput) => fineTuneFoundation('chgnet', input);
/** SevenNet-0 fine-tuned from the sevenn wheel's weights or an earlier fine-tune. */
export const fineTuneSevennet = (input: FoundationFineTuneInput) => fineTuneFoundation('sevennet', input);

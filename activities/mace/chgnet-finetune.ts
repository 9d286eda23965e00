// Fine-tuning CHGNet (ml queue) on a campaign's DFT labels with chgnet's own trainer, from the wheel's
// weights or an earlier fine-tune's file; helper activities/mace/chgnet_finetune.py (why the per-element
// reference is refitted first is written there). One new model file per call; the caller names it per
// generation (common/run-layout.ts). Like every training, a finished fine-tune with the same inputs
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

/** The foundation when no file is given: the weights inside the chgnet wheel. */
export const CHGNET_BUNDLED = 'bundled';

export interface ChgnetFineTuneInput {
  /** The fine-tuned model file to write. */
  output: string;
  /** An earlier fine-tune's file; absent: the wheel's weights. */
  foundation?: string;
  /** extxyz with REF_energy / REF_forces / REF_stress (the dataset writer's MACE format). */
  trainFile: string;
  seed: number;
  maxEpochs: number;
  lr: number;
  /** On MACE's scale (forces weigh 100): chgnet's energy_loss_ratio is energyWeight / 100 against forces 1. */
  energyWeight: number;
  batchSize?: number;
  validFraction?: number;
}

const History = z.record(z.string(), z.object({ train: z.array(z.number()), val: z.array(z.number()) }));

export const ChgnetFinetuneResultSchema = z.object({
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

export const ChgnetFinetune = contract(
  'mace-chgnet-finetune',
  z.strictObject({
    foundation: z.string().min(1),
    train_file: filePath(),
    output: filePath(),
    seed: z.number().int(),
    max_epochs: z.number().int().positive(),
    lr: z.number().positive(),
    energy_weight: z.number().positive(),
    batch_size: z.number().int().positive(),
    valid_fraction: z.number().gt(0).lt(1),
    threads: z.number().int().positive(),
  }),
  ChgnetFinetuneResultSchema,
);

export interface ChgnetFineTuneResult {
  model: string;
  /** eV/atom added to each element's reference (the QE-vs-MP zero, then each generation's small drift). */
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

/** Everything that decides the result: settings and the contents of the input files. */
export function chgnetFingerprint(input: ChgnetFineTuneInput): string {
  return sha256(canonicalJson({
    ...input,
    output: undefined,
    trainFile: sha256(readFileSync(input.trainFile)),
    foundation: input.foundation ? sha256(readFileSync(input.foundation)) : CHGNET_BUNDLED,
  }));
}

export async function fineTuneChgnet(input: ChgnetFineTuneInput): Promise<ChgnetFineTuneResult> {
  if (input.foundation && !existsSync(input.foundation)) {
    throw invalid(`CHGNet foundation not found: ${input.foundation} (teacher.models with teacher.kind chgnet: none for the wheel's weights, or one fine-tuned file)`);
  }
  if (!existsSync(input.trainFile)) throw invalid(`fine-tuning set not found: ${input.trainFile}`);
  const output = path.resolve(input.output);
  mkdirSync(path.dirname(output), { recursive: true });
  const recordFile = `${output}.json`;
  const fingerprint = chgnetFingerprint(input);
  const done = readJsonIfExists<{ fingerprint: string; result: ChgnetFineTuneResult }>(recordFile);
  if (done?.fingerprint === fingerprint && existsSync(output)) return { ...done.result, reused: true };
  const work = path.join(path.dirname(output), 'logs');
  const r = await callPython(
    ChgnetFinetune,
    {
      foundation: input.foundation ? path.resolve(input.foundation) : CHGNET_BUNDLED,
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
  const result: ChgnetFineTuneResult = {
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

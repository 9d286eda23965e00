// MACE: training with mace_run_train (a committee member, or a fine-tune from a local foundation model)
// and batched inference through the mace-eval helper, models loaded once per batch.
import { ApplicationFailure } from '@temporalio/common';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { NonRetryableErrors } from '../common/errors';
import { runTool } from './process';
import { callPython } from './python';

export interface MaceTrainInput {
  outDir: string;
  name: string;
  trainFile: string;
  validFraction?: number;
  seed: number;
  maxEpochs: number;
  hiddenIrreps?: string;
  rMax?: number;
  batchSize?: number;
  foundationModel?: string;
}

export interface MaceTrainResult {
  model: string;
  wallSeconds: number;
}

function epochProgress(line: string) {
  const m = line.match(/Epoch (\d+).*?loss=\s*([\d.eE+-]+)/);
  return m ? { epoch: Number(m[1]), loss: Number(m[2]) } : undefined;
}

export async function trainMace(input: MaceTrainInput): Promise<MaceTrainResult> {
  if (!existsSync(input.trainFile)) {
    throw ApplicationFailure.create({ type: NonRetryableErrors.InvalidInput, nonRetryable: true, message: `MACE training file not found: ${input.trainFile}` });
  }
  const work = path.join(input.outDir, `train-${input.name}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const args = [
    '--name', input.name,
    '--train_file', path.resolve(input.trainFile),
    '--valid_fraction', String(input.validFraction ?? 0.1),
    '--model', 'MACE',
    '--hidden_irreps', input.hiddenIrreps ?? '16x0e',
    '--r_max', String(input.rMax ?? 4.5),
    '--num_interactions', '2',
    '--max_L', '0',
    '--correlation', '2',
    '--max_num_epochs', String(input.maxEpochs),
    '--batch_size', String(input.batchSize ?? 4),
    '--valid_batch_size', String(input.batchSize ?? 4),
    '--energy_key', 'REF_energy',
    '--forces_key', 'REF_forces',
    '--stress_key', 'REF_stress',
    '--E0s', 'average',
    '--device', 'cpu',
    '--default_dtype', 'float64',
    '--seed', String(input.seed),
    '--work_dir', '.',
  ];
  if (input.foundationModel) {
    if (!existsSync(input.foundationModel)) {
      throw ApplicationFailure.create({ type: NonRetryableErrors.InvalidInput, nonRetryable: true, message: `foundation model not found: ${input.foundationModel}` });
    }
    args.push('--foundation_model', path.resolve(input.foundationModel));
  }
  const started = Date.now();
  try {
    await runTool({ command: 'mace_run_train', args, cwd: work, logFile: path.join(input.outDir, `${input.name}.log`), progress: epochProgress });
  } catch (err) {
    if (err instanceof ApplicationFailure && err.type === 'ToolFailed') {
      throw ApplicationFailure.create({ type: NonRetryableErrors.TrainingFailed, nonRetryable: true, message: `mace_run_train failed: ${err.message}` });
    }
    throw err;
  }
  const produced = path.join(work, `${input.name}.model`);
  if (!existsSync(produced)) {
    throw ApplicationFailure.create({ type: NonRetryableErrors.TrainingFailed, nonRetryable: true, message: `mace_run_train wrote no ${input.name}.model` });
  }
  const model = path.join(input.outDir, `${input.name}.model`);
  copyFileSync(produced, model);
  return { model, wallSeconds: (Date.now() - started) / 1000 };
}

const Uncertainty = z.union([z.number(), z.literal('inf').transform(() => Infinity), z.null()]);
export const MaceEvalResult = z.object({
  committee: z.boolean(),
  models: z.number(),
  results: z.array(
    z.object({
      index: z.number(),
      flag: z.string().nullable(),
      energy: z.number().nullable(),
      forces: z.array(z.array(z.number())).nullable(),
      stress: z.array(z.number()).nullable(),
      force_std_max: Uncertainty,
      energy_std_per_atom: Uncertainty,
    }),
  ),
});
export type MaceEvalOutput = z.output<typeof MaceEvalResult>;

export interface MaceEvalInput {
  models: string[];
  structures: string;
  output: string;
  workDir: string;
}

export async function evaluateMace(input: MaceEvalInput): Promise<MaceEvalOutput> {
  return callPython('mace-eval', { models: input.models, structures: input.structures, output: input.output, device: 'cpu' }, MaceEvalResult, {
    workDir: input.workDir,
  });
}

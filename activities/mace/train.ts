// MACE training with mace_run_train: a committee member from scratch, or a fine-tune from a local
// foundation model (see mace-finetune.ts); and the inline evaluator for small sets (smoke runs). Large sets
// are labelled by maceLabelBatch (mace-label.ts), which stores label files and returns references.
// Finished work is kept: a training whose inputs (settings and file contents) match a finished one returns
// it (a retry, a campaign started again with the same id); an interrupted one resumes from mace_run_train's
// last checkpoint (--restart_latest) instead of starting over.
import { ApplicationFailure } from '@temporalio/common';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { NonRetryableErrors } from '../../common/errors';
import { readJsonIfExists, writeFileAtomic } from '../runtime/files';
import { canonicalJson, sha256 } from '../runtime/hashing';
import { maceServer } from '../runtime/helper-server';
import { contract, filePath } from '../runtime/contract';
import { reapStale, runTool } from '../runtime/process';

export interface MaceFoundationOptions {
  /** Local model file (already prepared, see prepareFoundation). */
  model: string;
  /** The source model's sha256, when `model` is a prepared copy (its bytes may differ between preparations). */
  sha256?: string;
  /** Multihead replay fine-tuning with this extxyz as the pretraining head's data; naive when absent. */
  replayFile?: string;
  /** Head of a multihead foundation to start from. */
  head?: string;
}

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
  lr?: number;
  energyWeight?: number;
  forcesWeight?: number;
  /** "average", "estimated" (fine-tuning: fitted to the foundation's predictions), or per-element E0s in eV ({"14": -107.7}). */
  e0s?: 'average' | 'estimated' | Record<string, number>;
  /** config_type -> weight (surrogates weigh less than DFT labels). */
  configTypeWeights?: Record<string, number>;
  /** A local foundation model path (naive fine-tune), or the full fine-tuning options. */
  foundationModel?: string | MaceFoundationOptions;
}

export interface MaceTrainResult {
  model: string;
  wallSeconds: number;
  /** A finished training with the same inputs was returned (nothing ran). */
  reused?: boolean;
  /** Epoch of the checkpoint this run resumed from (absent: started from scratch). */
  resumedFromEpoch?: number;
}

const fileHash = (file: string) => sha256(readFileSync(file));

/** Everything that decides a training's result: settings and the contents of its input files. */
export function trainFingerprint(input: MaceTrainInput): string {
  const foundation = typeof input.foundationModel === 'string' ? { model: input.foundationModel } : input.foundationModel;
  return sha256(canonicalJson({
    ...input,
    outDir: undefined,
    trainFile: fileHash(input.trainFile),
    foundationModel: foundation && { ...foundation, model: foundation.sha256 ?? fileHash(foundation.model), replayFile: foundation.replayFile && fileHash(foundation.replayFile) },
  }));
}

/** The newest checkpoint epoch in a mace_run_train work dir (files <name>_run-<seed>_epoch-<n>.pt). */
export function latestCheckpointEpoch(work: string): number | undefined {
  const dir = path.join(work, 'checkpoints');
  if (!existsSync(dir)) return undefined;
  const epochs = readdirSync(dir).map((f) => Number(/_epoch-(\d+)(?:_swa)?\.pt$/.exec(f)?.[1])).filter((n) => Number.isInteger(n));
  return epochs.length ? Math.max(...epochs) : undefined;
}

function invalid(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: NonRetryableErrors.InvalidInput, nonRetryable: true, message });
}

function epochProgress(line: string) {
  const m = line.match(/Epoch (\d+).*?loss=\s*([\d.eE+-]+)/);
  return m ? { epoch: Number(m[1]), loss: Number(m[2]) } : undefined;
}

/** E0s as mace_run_train parses them: a Python dict literal keyed by atomic number. */
function e0sArg(e0s: MaceTrainInput['e0s']): string {
  if (!e0s || e0s === 'average' || e0s === 'estimated') return e0s ?? 'average';
  return `{${Object.entries(e0s).map(([z, e]) => `${Number(z)}: ${e}`).join(', ')}}`;
}

/** The mace_run_train argv for a training or fine-tuning run (pure; unit-testable). */
export function maceTrainArgs(input: MaceTrainInput): string[] {
  const foundation = typeof input.foundationModel === 'string' ? { model: input.foundationModel } : input.foundationModel;
  const args = [
    '--name', input.name,
    '--train_file', path.resolve(input.trainFile),
    '--valid_fraction', String(input.validFraction ?? 0.1),
    '--r_max', String(input.rMax ?? 4.5),
    '--max_num_epochs', String(input.maxEpochs),
    '--batch_size', String(input.batchSize ?? 4),
    '--valid_batch_size', String(input.batchSize ?? 4),
    '--energy_key', 'REF_energy',
    '--forces_key', 'REF_forces',
    '--stress_key', 'REF_stress',
    '--E0s', e0sArg(input.e0s),
    '--device', 'cpu',
    '--default_dtype', 'float64',
    '--seed', String(input.seed),
    '--work_dir', '.',
  ];
  if (input.lr !== undefined) args.push('--lr', String(input.lr));
  if (input.energyWeight !== undefined) args.push('--energy_weight', String(input.energyWeight));
  if (input.forcesWeight !== undefined) args.push('--forces_weight', String(input.forcesWeight));
  if (input.configTypeWeights) args.push('--config_type_weights', JSON.stringify(input.configTypeWeights));
  if (!foundation) {
    // A small committee member: the architecture is ours to choose.
    args.push('--model', 'MACE', '--hidden_irreps', input.hiddenIrreps ?? '16x0e', '--num_interactions', '2', '--max_L', '0', '--correlation', '2');
    return args;
  }
  // Fine-tuning: mace_run_train takes the architecture from the foundation model itself.
  args.push('--foundation_model', path.resolve(foundation.model));
  if (foundation.head) args.push('--foundation_head', foundation.head);
  if (foundation.replayFile) {
    args.push('--multiheads_finetuning', 'True', '--pt_train_file', path.resolve(foundation.replayFile), '--force_mh_ft_lr', 'True');
  } else {
    args.push('--multiheads_finetuning', 'False');
  }
  return args;
}

export async function trainMace(input: MaceTrainInput): Promise<MaceTrainResult> {
  if (!existsSync(input.trainFile)) throw invalid(`MACE training file not found: ${input.trainFile}`);
  const foundation = typeof input.foundationModel === 'string' ? { model: input.foundationModel } : input.foundationModel;
  if (foundation && !existsSync(foundation.model)) {
    throw invalid(`foundation model not found: ${foundation.model} (teacher.models must be local files; see docs/mace.md)`);
  }
  if (foundation?.replayFile && !existsSync(foundation.replayFile)) {
    throw invalid(`teacher.finetune.replay_file not found: ${foundation.replayFile} (an extxyz with REF_energy/REF_forces)`);
  }
  if (foundation?.replayFile && (!input.e0s || input.e0s === 'average')) {
    throw invalid('teacher.finetune.e0s: multihead fine-tuning cannot use "average" E0s (mace_run_train rejects them): use foundation or estimated');
  }
  const fingerprint = trainFingerprint(input);
  const record = path.join(input.outDir, `${input.name}.train.json`);
  const model = path.join(input.outDir, `${input.name}.model`);
  const done = readJsonIfExists<{ fingerprint: string; result: MaceTrainResult }>(record);
  if (done?.fingerprint === fingerprint && existsSync(model)) return { ...done.result, reused: true };

  const work = path.join(input.outDir, `train-${input.name}`);
  const marker = path.join(work, 'fingerprint');
  reapStale(path.join(work, 'train.pid'), work); // a trainer left by a dead worker on this host
  // The same training interrupted earlier: keep its checkpoints and resume; anything else starts clean.
  const same = existsSync(marker) && readFileSync(marker, 'utf8').trim() === fingerprint;
  const resumeFrom = same ? latestCheckpointEpoch(work) : undefined;
  if (!same) {
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    writeFileAtomic(marker, `${fingerprint}\n`);
  }
  const args = maceTrainArgs(input);
  if (resumeFrom !== undefined) args.push('--restart_latest');
  const started = Date.now();
  try {
    await runTool({ command: 'mace_run_train', args, cwd: work, logFile: path.join(input.outDir, `${input.name}.log`), progress: epochProgress, pidFile: path.join(work, 'train.pid') });
  } catch (err) {
    if (err instanceof ApplicationFailure && err.type === 'ToolFailed') {
      throw ApplicationFailure.create({ type: NonRetryableErrors.TrainingFailed, nonRetryable: true, message: `mace_run_train failed: ${err.message}` });
    }
    throw err;
  }
  const produced = path.join(work, `${input.name}.model`);
  if (!existsSync(produced)) {
    throw ApplicationFailure.create({ type: NonRetryableErrors.TrainingFailed, nonRetryable: true, message: `mace_run_train wrote no ${input.name}.model; log: ${path.join(input.outDir, `${input.name}.log`)}` });
  }
  copyFileSync(produced, `${model}.tmp`);
  renameSync(`${model}.tmp`, model);
  const result: MaceTrainResult = { model, wallSeconds: (Date.now() - started) / 1000, ...(resumeFrom !== undefined ? { resumedFromEpoch: resumeFrom } : {}) };
  writeFileAtomic(record, JSON.stringify({ fingerprint, result }, null, 1));
  return result;
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
export const MaceEval = contract(
  'mace-eval',
  z.strictObject({ models: z.array(filePath()).min(1), structures: filePath(), output: filePath().optional(), device: z.enum(['cpu', 'cuda']), dtype: z.enum(['float64', 'float32']).optional() }),
  MaceEvalResult,
);

export interface MaceEvalInput {
  models: string[];
  structures: string;
  output: string;
  workDir: string;
}

/** Inline results for a small file (the reply carries every number: keep it to a few dozen structures). */
export async function evaluateMace(input: MaceEvalInput): Promise<MaceEvalOutput> {
  return maceServer().request(MaceEval, { models: input.models, structures: input.structures, output: input.output, device: 'cpu' }, {
    workDir: input.workDir,
    logFile: path.join(input.workDir, 'mace-eval.log'),
  });
}

// Fine-tuning a MACE model from a local foundation file (ml queue): naive fine-tuning on the new DFT labels,
// or multihead replay fine-tuning when a replay file is given (the foundation's knowledge is kept on a
// second head trained on the replay set). One new model file per call; the caller names it per generation.
// Like every training (train.ts), a finished fine-tune with the same inputs is returned as it is and an
// interrupted one resumes from its last checkpoint.
import { ApplicationFailure } from '@temporalio/common';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { NonRetryableErrors } from '../../common/errors';
import { trainMace } from './train';
import { maceServer } from '../runtime/helper-server';
import { contract, filePath } from '../runtime/contract';

export interface FineTuneInput {
  outDir: string;
  name: string;
  foundationModel: string;
  /** extxyz with REF_energy / REF_forces / REF_stress (the dataset writer's MACE format). */
  trainFile: string;
  seed: number;
  maxEpochs: number;
  lr?: number;
  /** Loss weight of energies (forces: 100). */
  energyWeight?: number;
  /**
   * Isolated-atom energies: the foundation's own (default; right when it was trained on the same DFT
   * settings, e.g. the bootstrapped committee), "estimated" from its predictions on the new data (a
   * foundation trained on another DFT setup, such as MACE-MP-0 against your Quantum ESPRESSO), or "average".
   */
  e0s?: 'foundation' | 'estimated' | 'average';
  replayFile?: string;
  batchSize?: number;
  validFraction?: number;
  configTypeWeights?: Record<string, number>;
}

export interface FineTuneResult {
  model: string;
  mode: 'naive' | 'multihead';
  foundation: { file: string; sha256: string; patched: boolean };
  wallSeconds: number;
  reused?: boolean;
  resumedFromEpoch?: number;
}

const ModelInfo = {
  model: z.string(),
  sha256: z.string(),
  r_max: z.number(),
  atomic_numbers: z.array(z.number()),
  heads: z.array(z.string()),
  e0s: z.record(z.string(), z.number()),
};
export const MaceInspect = contract('mace-inspect', z.strictObject({ model: filePath(), field: z.string().optional() }), z.object(ModelInfo));

const PreparedSchema = z.object({
  model: z.string(),
  sha256: z.string(),
  r_max: z.number(),
  atomic_numbers: z.array(z.number()),
  heads: z.array(z.string()),
  e0s: z.record(z.string(), z.number()),
  prepared: z.string(),
  patched: z.boolean(),
});

export const MacePrepareFoundation = contract('mace-prepare-foundation', z.strictObject({ model: filePath(), output: filePath(), field: z.string().optional() }), PreparedSchema);

function invalid(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: NonRetryableErrors.InvalidInput, nonRetryable: true, message });
}

export async function fineTuneMace(input: FineTuneInput): Promise<FineTuneResult> {
  if (!existsSync(input.foundationModel)) {
    throw invalid(`foundation model not found: ${input.foundationModel} (teacher.models must be local files; see docs/mace.md)`);
  }
  if (input.replayFile && !existsSync(input.replayFile)) {
    throw invalid(`teacher.finetune.replay_file not found: ${input.replayFile} (an extxyz with REF_energy/REF_forces, or remove it for naive fine-tuning)`);
  }
  mkdirSync(input.outDir, { recursive: true });
  const logDir = path.join(input.outDir, 'logs');
  const f = await maceServer().request(
    MacePrepareFoundation,
    { model: path.resolve(input.foundationModel), output: path.join(path.resolve(input.outDir), `${input.name}.foundation.model`), field: 'foundation model' },
    { workDir: logDir, logFile: path.join(logDir, `${input.name}.prepare.log`) },
  );
  // A multihead foundation (an earlier multihead fine-tune) continues from its target head.
  const head = f.heads.length > 1 ? (f.heads.find((h) => h.toLowerCase() === 'default') ?? f.heads[f.heads.length - 1]) : undefined;
  const trained = await trainMace({
    outDir: input.outDir,
    name: input.name,
    trainFile: input.trainFile,
    seed: input.seed,
    maxEpochs: input.maxEpochs,
    lr: input.lr,
    energyWeight: input.energyWeight ?? 100,
    rMax: f.r_max,
    batchSize: input.batchSize ?? 2,
    validFraction: input.validFraction ?? 0.2,
    // The foundation's own E0s keep every generation on one energy reference ("average" would re-fit
    // them to a handful of new structures); passed as numbers, not "foundation" (see mace_models.py).
    e0s: (input.e0s ?? 'foundation') === 'foundation' ? f.e0s : (input.e0s as 'estimated' | 'average'),
    configTypeWeights: input.configTypeWeights,
    foundationModel: { model: f.prepared, sha256: f.sha256, replayFile: input.replayFile, head },
  });
  return {
    model: trained.model,
    mode: input.replayFile ? 'multihead' : 'naive',
    foundation: { file: f.model, sha256: f.sha256, patched: f.patched },
    wallSeconds: trained.wallSeconds,
    ...(trained.reused ? { reused: true } : {}),
    ...(trained.resumedFromEpoch !== undefined ? { resumedFromEpoch: trained.resumedFromEpoch } : {}),
  };
}

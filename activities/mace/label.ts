// The fast oracle's batch activity (ml queue): a batch of structures (a file plus their ids) labelled by a
// MACE committee, one MACE model or CHGNet, in the worker's long-lived helper server (models loaded once).
// Labels go to files with provenance; the reply carries ids, uncertainties and flags only, so a batch of
// 64 structures is a few kB whatever the cell size.
import { activityIds } from '../runtime/context';
import { ApplicationFailure } from '@temporalio/common';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { NonRetryableErrors } from '../../common/errors';
import { maceServer } from '../runtime/helper-server';
import { runLayout } from '../../common/run-layout';

/** The fast oracle a batch uses: the teacher section's engine fields. */
export const FastOracleSchema = z.object({
  kind: z.enum(['mace', 'chgnet']).default('mace'),
  models: z.array(z.string()).default([]),
  device: z.enum(['cpu', 'cuda']).default('cpu'),
  dtype: z.enum(['float64', 'float32']).default('float64'),
});
export type FastOracle = z.input<typeof FastOracleSchema>;

export const MaceLabelBatchInputSchema = z.object({
  runDir: z.string().min(1),
  structureFile: z.string().min(1),
  /** ids[j] is the structure at index start + j of structureFile. */
  start: z.number().int().nonnegative().default(0),
  ids: z.array(z.string().min(1)).min(1, 'a batch needs at least one structure id'),
  oracle: FastOracleSchema,
});
export type MaceLabelBatchInput = z.input<typeof MaceLabelBatchInputSchema>;

export const LabelItemSchema = z.object({
  id: z.string(),
  /** Committee max force std (eV/Å); absent for a single model or a flagged structure. */
  fStd: z.number().optional(),
  /** Committee energy std per atom (eV/atom). */
  eStd: z.number().optional(),
  /** overlapping_atoms | non_finite | exploding | error: uncertainty is infinite, no label written. */
  flag: z.string().optional(),
});
export type LabelItem = z.infer<typeof LabelItemSchema>;

export const MaceLabelBatchResultSchema = z.object({
  oracle: z.object({ kind: z.string(), key: z.string(), committee: z.boolean(), size: z.number(), version: z.string() }),
  modelHashes: z.array(z.string()),
  /** <runDir>/mace/labels/<oracle key>; label of structure s: <labelDir>/<s>.json */
  labelDir: z.string(),
  computed: z.number(),
  reused: z.number(),
  flagged: z.number(),
  items: z.array(LabelItemSchema),
  modelsCached: z.boolean(),
  loadSeconds: z.number(),
  wallSeconds: z.number(),
});
export type MaceLabelBatchResult = z.infer<typeof MaceLabelBatchResultSchema>;

function invalid(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, nonRetryable: true, message });
}

/** Checks that fail before any Python starts, naming the field and the fix. */
export function checkOracle(o: z.output<typeof FastOracleSchema>): void {
  if (o.kind === 'chgnet') return;
  if (o.models.length === 0) {
    throw invalid(
      NonRetryableErrors.InvalidConfig,
      'teacher.models is empty: list one MACE model file, or two or more for a committee (`autopipe teacher bootstrap --config FILE` trains one; docs/mace.md explains how to bring MACE-MP-0)',
    );
  }
  for (const m of o.models) {
    if (!existsSync(m)) {
      throw invalid(NonRetryableErrors.InvalidConfig, `teacher.models: MACE model file not found: ${m} (model files must be local; fix the path or run \`autopipe teacher bootstrap\`)`);
    }
  }
}

export function labelRoot(runDir: string): string {
  return runLayout(runDir).maceLabels;
}


export async function maceLabelBatch(raw: MaceLabelBatchInput): Promise<MaceLabelBatchResult> {
  const parsed = MaceLabelBatchInputSchema.safeParse(raw);
  if (!parsed.success) throw invalid(NonRetryableErrors.InvalidInput, `maceLabelBatch input: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const input = parsed.data;
  checkOracle(input.oracle);
  if (!existsSync(input.structureFile)) throw invalid(NonRetryableErrors.InvalidInput, `structure file not found: ${input.structureFile}`);
  const logDir = runLayout(input.runDir).maceLogs;
  return maceServer().request(
    'mace-label',
    {
      kind: input.oracle.kind,
      models: input.oracle.models.map((m) => path.resolve(m)),
      device: input.oracle.device,
      dtype: input.oracle.dtype,
      structure_file: path.resolve(input.structureFile),
      start: input.start,
      ids: input.ids,
      label_root: labelRoot(input.runDir),
      provenance: activityIds(),
    },
    MaceLabelBatchResultSchema,
    { workDir: logDir, logFile: path.join(logDir, 'mace-label.log') },
  );
}

export const MaceScoreSchema = z.object({
  n: z.number(),
  flagged: z.number(),
  rmse_energy_mev_atom: z.number(),
  mae_energy_mev_atom: z.number(),
  rmse_forces_mev_a: z.number(),
  oracle_key: z.string(),
});
export type MaceScore = z.infer<typeof MaceScoreSchema>;

/** Errors of a model or committee (mean) against the REF_* labels of an extxyz dataset. */
export async function maceScore(input: { models: string[]; dataset: string; workDir: string }): Promise<MaceScore> {
  checkOracle({ kind: 'mace', models: input.models, device: 'cpu', dtype: 'float64' });
  return maceServer().request('mace-score', { models: input.models.map((m) => path.resolve(m)), dataset: path.resolve(input.dataset) }, MaceScoreSchema, {
    workDir: input.workDir,
    logFile: path.join(input.workDir, 'mace-score.log'),
  });
}

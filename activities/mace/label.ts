// The fast oracle's batch activity (ml queue): a batch of structures (a file plus their ids) labelled by a
// MACE committee, one MACE model, CHGNet or SevenNet-0, in the worker's long-lived helper server (models
// loaded once; SevenNet in its own, helper-server.ts). Labels go into the run's store with provenance
// (oracle mace|chgnet|sevennet, settings hash = the engine key); the
// reply carries ids, uncertainties and flags only, so a batch of 64 structures is a few kB whatever the
// cell size.
import { activityIds } from '../runtime/context';
import { ApplicationFailure } from '@temporalio/common';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { NonRetryableErrors } from '../../common/errors';
import { oracleServer } from '../runtime/helper-server';
import { runLayout } from '../../common/run-layout';
import { storePath } from '../store/store';
import { contract, filePath } from '../runtime/contract';
import { emptyCounts, route, uncertaintyOf } from '../../common/routing';
import { recordRouting, type RoutingDecision } from '../campaign/routing';

/** The fast oracle a batch uses: the teacher section's engine fields. */
export const ORACLE_KINDS = ['mace', 'chgnet', 'sevennet'] as const;
export type OracleKind = (typeof ORACLE_KINDS)[number];
export const FastOracleSchema = z.object({
  kind: z.enum(ORACLE_KINDS).default('mace'),
  models: z.array(z.string()).default([]),
  device: z.enum(['cpu', 'cuda']).default('cpu'),
  dtype: z.enum(['float64', 'float32']).default('float64'),
});
export type FastOracle = z.input<typeof FastOracleSchema>;

export const MaceLabelBatchInputSchema = z.object({
  runDir: z.string().min(1),
  structureFile: z.string().min(1),
  /** ids[j] is the structure at index start + j of structureFile (its content hash) ... */
  start: z.number().int().nonnegative().default(0),
  ids: z.array(z.string().min(1)).min(1, 'a batch needs at least one structure id').optional(),
  /** ... or, for large sets whose ids stay in the file, the batch is the `count` structures from `start`. */
  count: z.number().int().positive().optional(),
  oracle: FastOracleSchema,
  /** Provenance of structures the store does not hold yet (default: the file's own, else initial_random, 0). */
  provenance: z.object({ source: z.string().min(1).optional(), generation: z.number().int().nonnegative().optional() }).default({}),
  /** Route every structure of the batch (common/routing.ts) and record the decisions under routing/<name>. */
  route: z
    .object({
      name: z.string().min(1),
      batch: z.number().int().nonnegative(),
      policy: z.object({ source: z.enum(['committee', 'ace_gamma', 'none']), accept: z.number(), dft: z.number(), between: z.enum(['discard', 'queue']) }),
      /** ACE grades of this batch's structures (null = infinite). */
      gamma: z.array(z.number().nullable()).optional(),
    })
    .optional(),
}).refine((b) => (b.ids === undefined) !== (b.count === undefined), { error: 'give ids or count', path: ['ids'] });
export type MaceLabelBatchInput = z.input<typeof MaceLabelBatchInputSchema>;

export const LabelItemSchema = z.object({
  id: z.string(),
  /** Committee max force std (eV/Å); absent for a single model or a flagged structure. */
  fStd: z.number().optional(),
  /** Committee energy std per atom (eV/atom). */
  eStd: z.number().optional(),
  /** overlapping_atoms | non_finite | exploding | error: uncertainty is infinite, a flagged label stored. */
  flag: z.string().optional(),
});
export type LabelItem = z.infer<typeof LabelItemSchema>;

export const MaceLabelBatchResultSchema = z.object({
  oracle: z.object({ kind: z.string(), key: z.string(), committee: z.boolean(), size: z.number(), version: z.string() }),
  modelHashes: z.array(z.string()),
  computed: z.number(),
  reused: z.number(),
  flagged: z.number(),
  items: z.array(LabelItemSchema),
  modelsCached: z.boolean(),
  loadSeconds: z.number(),
  wallSeconds: z.number(),
  /** With `route`: how the batch was routed. */
  routed: z.record(z.string(), z.number()).optional(),
});
export type MaceLabelBatchResult = z.infer<typeof MaceLabelBatchResultSchema>;

export const MaceLabel = contract(
  'mace-label',
  z.strictObject({
    kind: z.enum(ORACLE_KINDS),
    models: z.array(filePath()),
    device: z.enum(['cpu', 'cuda']),
    dtype: z.enum(['float64', 'float32']),
    structure_file: filePath(),
    start: z.number().int().nonnegative(),
    ids: z.array(z.string().min(1)).optional(),
    count: z.number().int().positive().optional(),
    store: filePath(),
    provenance: z.record(z.string(), z.unknown()),
  }),
  MaceLabelBatchResultSchema.omit({ routed: true }),
);

function invalid(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, nonRetryable: true, message });
}

/** Checks that fail before any Python starts, naming the field and the fix. */
export function checkOracle(o: z.output<typeof FastOracleSchema>): void {
  if (o.kind === 'chgnet') {
    if (o.models.length > 1) throw invalid(NonRetryableErrors.InvalidConfig, `teacher.models: teacher.kind chgnet takes at most one model file (a fine-tuned CHGNet), got ${o.models.length}`);
    if (o.models[0] && !existsSync(o.models[0])) throw invalid(NonRetryableErrors.InvalidConfig, `teacher.models: CHGNet model file not found: ${o.models[0]} (none for the weights in the chgnet wheel)`);
    return;
  }
  if (o.kind === 'sevennet') {
    if (o.models.length > 1) throw invalid(NonRetryableErrors.InvalidConfig, `teacher.kind sevennet takes at most one file (its energy reference or its fine-tuned model, written by the teacher phase), got ${o.models.length}`);
    if (o.models[0] && !existsSync(o.models[0])) throw invalid(NonRetryableErrors.InvalidConfig, `SevenNet file not found: ${o.models[0]} (an energy reference .json or a fine-tuned model from runs/<id>/teacher/gen-N/; none for SevenNet-0's own energy scale)`);
    return;
  }
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


export async function maceLabelBatch(raw: MaceLabelBatchInput): Promise<MaceLabelBatchResult> {
  const parsed = MaceLabelBatchInputSchema.safeParse(raw);
  if (!parsed.success) throw invalid(NonRetryableErrors.InvalidInput, `maceLabelBatch input: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const input = parsed.data;
  checkOracle(input.oracle);
  if (!existsSync(input.structureFile)) throw invalid(NonRetryableErrors.InvalidInput, `structure file not found: ${input.structureFile}`);
  const logDir = runLayout(input.runDir).maceLogs;
  const res: MaceLabelBatchResult = await oracleServer(input.oracle.kind).request(
    MaceLabel,
    {
      kind: input.oracle.kind,
      models: input.oracle.models.map((m) => path.resolve(m)),
      device: input.oracle.device,
      dtype: input.oracle.dtype,
      structure_file: path.resolve(input.structureFile),
      start: input.start,
      ids: input.ids,
      count: input.count,
      store: storePath(input.runDir),
      provenance: { ...input.provenance, ...activityIds() },
    },
    { workDir: logDir, logFile: path.join(logDir, 'mace-label.log') },
  );
  if (input.route) res.routed = await routeBatch(input.runDir, input.structureFile, input.start, input.route, res);
  return res;
}

/** Route the batch by the pure rules and record the decisions (idempotent: a retry rewrites the file). */
async function routeBatch(runDir: string, structureFile: string, start: number, r: NonNullable<z.output<typeof MaceLabelBatchInputSchema>['route']>, res: MaceLabelBatchResult) {
  if (r.gamma && r.gamma.length !== res.items.length) {
    throw invalid(NonRetryableErrors.InvalidInput, `route.gamma has ${r.gamma.length} values for a batch of ${res.items.length} structures`);
  }
  const counts = emptyCounts();
  const decisions = res.items.map((it, j): RoutingDecision => {
    const gamma = r.gamma?.[j];
    const judged = { fStd: it.fStd, flag: it.flag, gamma };
    const u = uncertaintyOf(judged, r.policy);
    const dec: RoutingDecision = { id: it.id, index: start + j, route: route(judged, r.policy), u: Number.isFinite(u) ? u : null };
    if (it.fStd !== undefined) dec.fStd = it.fStd;
    if (gamma !== undefined) dec.gamma = gamma;
    if (it.flag) dec.flag = it.flag;
    counts[dec.route]++;
    return dec;
  });
  await recordRouting({ runDir, name: r.name, batch: r.batch, structureFile, oracle: { kind: res.oracle.kind, key: res.oracle.key }, decisions });
  return counts;
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
export const MaceScore = contract(
  'mace-score',
  z.strictObject({ kind: z.enum(ORACLE_KINDS).optional(), models: z.array(filePath()), dataset: filePath(), device: z.enum(['cpu', 'cuda']).optional(), dtype: z.enum(['float64', 'float32']).optional() }),
  MaceScoreSchema,
);

/** Errors of a model or committee (mean), CHGNet (no model: the wheel's weights) or SevenNet-0 (a file: its energy reference), against the REF_* labels of an extxyz dataset. */
export async function maceScore(input: { kind?: OracleKind; models: string[]; dataset: string; workDir: string }): Promise<MaceScore> {
  const kind = input.kind ?? 'mace';
  checkOracle({ kind, models: input.models, device: 'cpu', dtype: 'float64' });
  return oracleServer(kind).request(MaceScore, { kind, models: input.models.map((m) => path.resolve(m)), dataset: path.resolve(input.dataset) }, {
    workDir: input.workDir,
    logFile: path.join(input.workDir, 'mace-score.log'),
  });
}

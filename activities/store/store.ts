// The campaign's structure store (runs/<id>/store.sqlite, an ASE-compatible SQLite database): structures
// with provenance and any number of labels per structure. Every activity here is one batched Python
// helper call (one process, one transaction), idempotent: a retried call finds its rows and returns.
import { activityIds } from '../runtime/context';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { callPython } from '../runtime/python';
import { runLayout } from '../../common/run-layout';


export function storePath(runDir: string): string {
  return runLayout(runDir).store;
}

/** Which stored structures a query, an export or a materialisation covers. */
export const StoreFilterSchema = z.strictObject({
  generation: z.number().int().nonnegative().optional(),
  generations: z.array(z.number().int().nonnegative()).optional(),
  /** Accumulate: every generation up to and including this one. */
  generationMax: z.number().int().nonnegative().optional(),
  source: z.string().min(1).optional(),
  sources: z.array(z.string().min(1)).optional(),
  split: z.enum(['train', 'validation', 'test']).optional(),
  /** labelled / unlabelled / flagged, by `oracle` (and `settingsHash`) when given, else by any oracle. */
  labelState: z.enum(['labelled', 'unlabelled', 'flagged']).optional(),
  oracle: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, 'lowercase letters, digits or _').optional(),
  settingsHash: z.string().min(1).optional(),
});
export type StoreFilter = z.input<typeof StoreFilterSchema>;

export function filterPayload(f: StoreFilter = {}): Record<string, unknown> {
  const v = StoreFilterSchema.parse(f);
  return {
    generation: v.generation,
    generations: v.generations,
    generation_max: v.generationMax,
    source: v.source,
    sources: v.sources,
    split: v.split,
    label_state: v.labelState,
    oracle: v.oracle,
    settings_hash: v.settingsHash,
  };
}


/**
 * One helper call with its own work directory (concurrent calls never share an input file); removed on
 * success, kept on failure so the error's log path stays valid.
 */
export async function helperCall<T extends z.ZodType>(baseDir: string | undefined, command: string, input: unknown, schema: T): Promise<z.output<T>> {
  const root = baseDir ? path.join(baseDir, 'logs', 'store') : path.join(os.tmpdir(), 'autopipe-helpers');
  const dir = path.join(root, `${command}-${Date.now()}-${randomBytes(4).toString('hex')}`);
  const result = await callPython(command, input, schema, { workDir: dir, logFile: path.join(dir, 'helper.log') });
  rmSync(dir, { recursive: true, force: true });
  return result;
}

const OnDuplicate = z.enum(['error', 'skip']);

export interface InsertStructuresInput {
  runDir: string;
  /** Any ASE-readable structure file; extxyz info keys source/generation/parent_id/split/config_type are kept. */
  file: string;
  source: string;
  generation: number;
  parentId?: string;
  split?: 'train' | 'validation' | 'test';
  /** Reject structures with other elements (the campaign's system.elements). */
  elements?: string[];
  /** Å; default 0.5: closer atoms are overlapping and rejected with UnphysicalStructure. */
  minDistance?: number;
  /** A structure stored with different provenance: error (default, nothing written) or keep the stored record. */
  onDuplicate?: z.infer<typeof OnDuplicate>;
  returnIds?: boolean;
}

export const InsertResultSchema = z
  .object({
    inserted: z.number(),
    existing: z.number(),
    skipped: z.number(),
    duplicates_in_file: z.number(),
    count: z.number(),
    ids: z.array(z.string()).optional(),
  })
  .transform(({ duplicates_in_file, ...r }) => ({ ...r, duplicatesInFile: duplicates_in_file }));
export type InsertResult = z.output<typeof InsertResultSchema>;

export async function insertStructures(input: InsertStructuresInput): Promise<InsertResult> {
  return helperCall(input.runDir, 'store-insert', {
    store: storePath(input.runDir),
    file: path.resolve(input.file),
    source: input.source,
    generation: input.generation,
    parent_id: input.parentId,
    split: input.split,
    elements: input.elements,
    min_distance: input.minDistance ?? 0.5,
    on_duplicate: input.onDuplicate ?? 'error',
    return_ids: input.returnIds ?? true,
    ...activityIds(),
  }, InsertResultSchema);
}

export const LabelCountsSchema = z.object({ inserted: z.number(), existing: z.number(), skipped: z.number(), replaced: z.number(), count: z.number() });
export type LabelCounts = z.infer<typeof LabelCountsSchema>;

export interface AddLabelFilesInput {
  runDir: string;
  /** DFT label files (activities/dft/qe.ts), DFT failure records (failed-<key>.json) or MACE label files. */
  labelFiles?: string[];
  /** Or: a label directory (e.g. a MACE batch's labelDir) and the ids whose <id>.json files to take. */
  labelDir?: string;
  ids?: string[];
  onDuplicate?: z.infer<typeof OnDuplicate>;
}

/** Ingest label files: oracle from their provenance, settings hash = their labelKey. */
export async function addLabelFiles(input: AddLabelFilesInput): Promise<LabelCounts> {
  const files = [...(input.labelFiles ?? []), ...(input.labelDir ? (input.ids ?? []).map((id) => path.join(input.labelDir!, `${id}.json`)) : [])];
  return helperCall(input.runDir, 'store-add-labels', {
    store: storePath(input.runDir),
    label_files: files.map((f) => path.resolve(f)),
    on_duplicate: input.onDuplicate ?? 'error',
    ...activityIds(),
  }, LabelCountsSchema);
}

// zod's number() refuses Infinity, which is a meaningful uncertainty here.
const realOrInfinity = () => z.union([z.number(), z.literal(Infinity)]);

/** A label given inline (small batches; flags for structures an oracle could not judge). */
export const LabelInputSchema = z.strictObject({
  structureId: z.string().min(1),
  oracle: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/),
  settingsHash: z.string().min(1),
  energy: z.number().nullable().optional(),
  forces: z.array(z.array(z.number()).length(3)).nullable().optional(),
  /** Voigt 6 (xx, yy, zz, yz, xz, xy), eV/Å³, ASE sign convention. */
  stress: z.array(z.number()).length(6).nullable().optional(),
  /** e.g. committee force std (eV/Å); Infinity for a structure the oracle could not judge. */
  uncertainty: realOrInfinity().nullable().optional(),
  energyStdPerAtom: realOrInfinity().nullable().optional(),
  extrapolationGrade: realOrInfinity().nullable().optional(),
  flag: z.string().optional(),
  provenance: z.record(z.string(), z.unknown()).optional(),
});
export type LabelInput = z.input<typeof LabelInputSchema>;

// JSON has no infinity: an infinite uncertainty travels as the string "inf".
const jsonNumber = (x: number | null | undefined) => (x === undefined || x === null ? x : Number.isFinite(x) ? x : x > 0 ? 'inf' : '-inf');

export async function addLabels(input: { runDir: string; labels: LabelInput[]; onDuplicate?: z.infer<typeof OnDuplicate> }): Promise<LabelCounts> {
  const labels = z.array(LabelInputSchema).parse(input.labels).map((l) => ({
    structure_id: l.structureId,
    oracle: l.oracle,
    settings_hash: l.settingsHash,
    energy: l.energy,
    forces: l.forces,
    stress: l.stress,
    uncertainty: jsonNumber(l.uncertainty),
    energy_std_per_atom: jsonNumber(l.energyStdPerAtom),
    extrapolation_grade: jsonNumber(l.extrapolationGrade),
    flag: l.flag,
    provenance: l.provenance,
  }));
  return helperCall(input.runDir, 'store-add-labels', { store: storePath(input.runDir), labels, on_duplicate: input.onDuplicate ?? 'error', ...activityIds() }, LabelCountsSchema);
}

export const QueryResultSchema = z.object({ count: z.number(), ids: z.array(z.string()), truncated: z.boolean() });
export type QueryResult = z.infer<typeof QueryResultSchema>;

/** Ids of the matching structures in insertion order; at most `limit` (default 5000) so the payload stays small. */
export async function queryStore(input: { runDir: string; filter?: StoreFilter; limit?: number }): Promise<QueryResult> {
  return helperCall(input.runDir, 'store-query', { store: storePath(input.runDir), ...filterPayload(input.filter), limit: input.limit ?? 5000 }, QueryResultSchema);
}

export const MaterialisedSchema = z.object({ output: z.string(), ids: z.array(z.string()), count: z.number() });

/** Stored structures as an exact extxyz file (ids[i] at index i), for an oracle that reads files. */
export async function exportStructures(input: { runDir: string; output: string; ids?: string[]; filter?: StoreFilter }): Promise<z.infer<typeof MaterialisedSchema>> {
  return helperCall(input.runDir, 'store-structures', {
    store: storePath(input.runDir),
    output: path.resolve(input.output),
    ids: input.ids,
    ...filterPayload(input.filter),
  }, MaterialisedSchema);
}

const Uncertain = z.union([z.number(), z.literal('inf').transform(() => Infinity)]).nullable();
export const LabelSummarySchema = z
  .object({
    oracle: z.string(),
    settings_hash: z.string(),
    energy: z.number().nullable(),
    uncertainty: Uncertain,
    energy_std_per_atom: Uncertain,
    extrapolation_grade: Uncertain,
    flag: z.string().nullable(),
    created_at: z.string(),
  })
  .transform((l) => ({
    oracle: l.oracle,
    settingsHash: l.settings_hash,
    energy: l.energy,
    uncertainty: l.uncertainty,
    energyStdPerAtom: l.energy_std_per_atom,
    extrapolationGrade: l.extrapolation_grade,
    flag: l.flag,
    createdAt: l.created_at,
  }));
export type LabelSummary = z.output<typeof LabelSummarySchema>;

/** Every label of the given structures, without arrays: oracle, settings, energy, uncertainty, grade, flag. */
export async function storeLabels(input: { runDir: string; ids: string[] }): Promise<Record<string, LabelSummary[]>> {
  const r = await helperCall(input.runDir, 'store-labels', { store: storePath(input.runDir), ids: input.ids }, z.object({ labels: z.record(z.string(), z.array(LabelSummarySchema)) }));
  return r.labels;
}

export const StoreSummarySchema = z.object({
  store: z.string(),
  schema_version: z.number(),
  structures: z.number(),
  by_generation: z.record(z.string(), z.number()),
  by_source: z.record(z.string(), z.number()),
  by_oracle: z.record(z.string(), z.number()),
  unlabelled: z.number(),
  labels: z.array(z.object({ oracle: z.string(), settings_hash: z.string(), labelled: z.number(), flagged: z.number() })),
  elements: z.array(z.string()),
  natoms: z.object({ min: z.number().nullable(), max: z.number().nullable(), mean: z.number().nullable() }),
});
export type StoreSummary = z.infer<typeof StoreSummarySchema>;

/** Counts by generation, source and oracle (what a campaign's status shows). */
export async function storeInfo(input: { runDir: string }): Promise<StoreSummary> {
  return helperCall(input.runDir, 'store-info', { store: storePath(input.runDir) }, StoreSummarySchema);
}

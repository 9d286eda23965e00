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
import { contract, filePath, type Contract } from '../runtime/contract';
import { runLayout } from '../../common/run-layout';


export function storePath(runDir: string): string {
  return runLayout(runDir).store;
}

/** Where a structure belongs: unmarked structures are training data; the campaign marks the held-out ones. */
export const SplitSchema = z.enum(['train', 'validation', 'test']);
export type Split = z.infer<typeof SplitSchema>;

/** Which stored structures a query, an export or a materialisation covers. */
export const StoreFilterSchema = z.strictObject({
  generation: z.number().int().nonnegative().optional(),
  generations: z.array(z.number().int().nonnegative()).optional(),
  /** Accumulate: every generation up to and including this one. */
  generationMax: z.number().int().nonnegative().optional(),
  source: z.string().min(1).optional(),
  sources: z.array(z.string().min(1)).optional(),
  split: SplitSchema.optional(),
  /** labelled / unlabelled / flagged, by `oracle` (and `settingsHash`) when given, else by any oracle. */
  labelState: z.enum(['labelled', 'unlabelled', 'flagged']).optional(),
  oracle: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, 'lowercase letters, digits or _').optional(),
  settingsHash: z.string().min(1).optional(),
});
export type StoreFilter = z.input<typeof StoreFilterSchema>;

/** The filter as the store helpers read it (snake_case). */
export const FilterPayload = {
  generation: z.number().int().nonnegative().optional(),
  generations: z.array(z.number().int().nonnegative()).optional(),
  generation_max: z.number().int().nonnegative().optional(),
  source: z.string().min(1).optional(),
  sources: z.array(z.string().min(1)).optional(),
  split: SplitSchema.optional(),
  label_state: z.enum(['labelled', 'unlabelled', 'flagged']).optional(),
  oracle: z.string().optional(),
  settings_hash: z.string().min(1).optional(),
};
const store = () => filePath();
const ids = () => z.array(z.string().optional()).optional();
const activity = { workflow_id: z.string().optional(), activity_id: z.string().optional() };

export function filterPayload(f: StoreFilter = {}) {
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
export async function helperCall<C extends Contract>(baseDir: string | undefined, c: C, input: z.input<C['input']>): Promise<z.output<C['result']>> {
  const root = baseDir ? path.join(baseDir, 'logs', 'store') : path.join(os.tmpdir(), 'autopipe-helpers');
  const dir = path.join(root, `${c.command}-${Date.now()}-${randomBytes(4).toString('hex')}`);
  const result = await callPython(c, input, { workDir: dir, logFile: path.join(dir, 'helper.log') });
  rmSync(dir, { recursive: true, force: true });
  return result;
}

const OnDuplicate = z.enum(['error', 'skip']);

export interface InsertStructuresInput {
  runDir: string;
  /** Any ASE-readable structure file; extxyz info keys source/generation/parent_id/split/config_type are kept. */
  file: string;
  /** Default: each frame's own source (extxyz info), else initial_random. */
  source?: string;
  generation: number;
  parentId?: string;
  split?: Split;
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
export const StoreInsert = contract(
  'store-insert',
  z.strictObject({
    store: store(),
    file: filePath(),
    source: z.string().min(1).optional(),
    generation: z.number().int().nonnegative(),
    parent_id: z.string().optional(),
    split: SplitSchema.optional(),
    elements: z.array(z.string()).optional(),
    min_distance: z.number().nonnegative(),
    on_duplicate: OnDuplicate,
    return_ids: z.boolean(),
    ...activity,
  }),
  InsertResultSchema,
);

export async function insertStructures(input: InsertStructuresInput): Promise<InsertResult> {
  return helperCall(input.runDir, StoreInsert, {
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
  });
}

export const LabelCountsSchema = z.object({ inserted: z.number(), existing: z.number(), skipped: z.number(), replaced: z.number(), count: z.number() });
export type LabelCounts = z.infer<typeof LabelCountsSchema>;

const jsonReal = () => z.union([z.number(), z.enum(['inf', '-inf'])]).nullable().optional();
/** One label as the store helpers read it (infinity travels as "inf": JSON has none). */
export const LabelPayloadSchema = z.strictObject({
  structure_id: z.string().min(1),
  oracle: z.string(),
  settings_hash: z.string().min(1),
  energy: z.number().nullable().optional(),
  forces: z.array(z.array(z.number()).length(3)).nullable().optional(),
  stress: z.array(z.number()).length(6).nullable().optional(),
  uncertainty: jsonReal(),
  energy_std_per_atom: jsonReal(),
  extrapolation_grade: jsonReal(),
  flag: z.string().optional(),
  provenance: z.record(z.string(), z.unknown()).optional(),
});
export const StoreAddLabels = contract(
  'store-add-labels',
  z.strictObject({ store: store(), label_files: z.array(filePath()).optional(), labels: z.array(LabelPayloadSchema).optional(), on_duplicate: OnDuplicate, ...activity }),
  LabelCountsSchema,
);

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
  return helperCall(input.runDir, StoreAddLabels, {
    store: storePath(input.runDir),
    label_files: files.map((f) => path.resolve(f)),
    on_duplicate: input.onDuplicate ?? 'error',
    ...activityIds(),
  });
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
const jsonNumber = (x: number | null | undefined): number | 'inf' | '-inf' | null | undefined => (x === undefined || x === null ? x : Number.isFinite(x) ? x : x > 0 ? 'inf' : '-inf');

function labelPayload(l: z.output<typeof LabelInputSchema>) {
  return {
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
  };
}

export async function addLabels(input: { runDir: string; labels: LabelInput[]; onDuplicate?: z.infer<typeof OnDuplicate> }): Promise<LabelCounts> {
  const labels = z.array(LabelInputSchema).parse(input.labels).map(labelPayload);
  return helperCall(input.runDir, StoreAddLabels, { store: storePath(input.runDir), labels, on_duplicate: input.onDuplicate ?? 'error', ...activityIds() });
}

export const QueryResultSchema = z.object({ count: z.number(), ids: z.array(z.string()), truncated: z.boolean() });
export type QueryResult = z.infer<typeof QueryResultSchema>;
export const StoreQuery = contract('store-query', z.strictObject({ store: store(), ...FilterPayload, limit: z.number().int().positive() }), QueryResultSchema);

/** Ids of the matching structures in insertion order; at most `limit` (default 5000) so the payload stays small. */
export async function queryStore(input: { runDir: string; filter?: StoreFilter; limit?: number }): Promise<QueryResult> {
  return helperCall(input.runDir, StoreQuery, { store: storePath(input.runDir), ...filterPayload(input.filter), limit: input.limit ?? 5000 });
}

export const MaterialisedSchema = z.object({ output: z.string(), ids: z.array(z.string()), count: z.number() });
export const StoreStructures = contract('store-structures', z.strictObject({ store: store(), output: filePath(), ids: z.array(z.string()).optional(), ...FilterPayload }), MaterialisedSchema);

/** Stored structures as an exact extxyz file (ids[i] at index i), for an oracle that reads files. */
export async function exportStructures(input: { runDir: string; output: string; ids?: string[]; filter?: StoreFilter }): Promise<z.infer<typeof MaterialisedSchema>> {
  return helperCall(input.runDir, StoreStructures, {
    store: storePath(input.runDir),
    output: path.resolve(input.output),
    ids: input.ids,
    ...filterPayload(input.filter),
  });
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
export const StoreLabels = contract('store-labels', z.strictObject({ store: store(), ids: z.array(z.string()) }), z.object({ labels: z.record(z.string(), z.array(LabelSummarySchema)) }));

/** Every label of the given structures, without arrays: oracle, settings, energy, uncertainty, grade, flag. */
export async function storeLabels(input: { runDir: string; ids: string[] }): Promise<Record<string, LabelSummary[]>> {
  const r = await helperCall(input.runDir, StoreLabels, { store: storePath(input.runDir), ids: input.ids });
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
export const StoreInfo = contract('store-info', z.strictObject({ store: store() }), StoreSummarySchema);

/** Counts by generation, source and oracle (what a campaign's status shows). */
export async function storeInfo(input: { runDir: string }): Promise<StoreSummary> {
  return helperCall(input.runDir, StoreInfo, { store: storePath(input.runDir) });
}

export const RecordResultSchema = z.object({
  structures: z.object({ inserted: z.number(), existing: z.number(), skipped: z.number() }),
  labels: LabelCountsSchema,
});
export type RecordResult = z.infer<typeof RecordResultSchema>;
export const StoreRecord = contract(
  'store-record',
  z.strictObject({
    store: store(),
    file: filePath(),
    indices: z.array(z.number().int().nonnegative()).optional(),
    source: z.string().min(1).optional(),
    generation: z.number().int().nonnegative().optional(),
    elements: z.array(z.string()).optional(),
    min_distance: z.number().nonnegative(),
    labels: z.array(LabelPayloadSchema).optional(),
    label_files: z.array(filePath()).optional(),
    on_duplicate: OnDuplicate,
    ...activity,
  }),
  RecordResultSchema,
);

export interface RecordInput {
  runDir: string;
  /** The structures' file and the frames to record (default: all). */
  file: string;
  indices?: number[];
  /** Provenance for structures the store does not hold yet (a stored structure keeps its record). */
  source?: string;
  generation?: number;
  elements?: string[];
  /** Å; 0 skips the distance check (a structure an oracle flagged as overlapping). */
  minDistance?: number;
  labels?: LabelInput[];
  /** Label files: pw.x's raw records (label-<key>.json) and failure records (failed-<key>.json). */
  labelFiles?: string[];
}

/** The payload of store-record (shared by the one-shot call and the DFT worker's long-lived helper). */
export function recordPayload(input: RecordInput): z.input<typeof StoreRecord.input> {
  return {
    store: storePath(input.runDir),
    file: path.resolve(input.file),
    indices: input.indices,
    source: input.source,
    generation: input.generation,
    elements: input.elements,
    min_distance: input.minDistance ?? 0.5,
    labels: input.labels ? z.array(LabelInputSchema).parse(input.labels).map(labelPayload) : undefined,
    label_files: input.labelFiles?.map((f) => path.resolve(f)),
    on_duplicate: 'error' as const,
    ...activityIds(),
  };
}

/** Structures and their labels in one store transaction: what an oracle calls as it produces labels. */
export async function recordLabels(input: RecordInput): Promise<RecordResult> {
  return helperCall(input.runDir, StoreRecord, recordPayload(input));
}

export const StoreLabel = contract(
  'store-label',
  z.strictObject({ store: store(), structure_id: z.string().min(1), oracle: z.string(), settings_hash: z.string().min(1) }),
  z.object({
    label: z.object({ energy: z.number().nullable(), flag: z.string().nullable(), provenance: z.record(z.string(), z.unknown()), created_at: z.string() }).nullable(),
  }),
);

/** One member of a named set in the store, as the helpers read it. */
export const MemberSchema = z.strictObject({
  id: z.string().min(1),
  oracle: z.string(),
  settings_hash: z.string().min(1),
  weight: z.number().optional(),
  config_type: z.string().optional(),
});
export const StoreMembers = contract(
  'store-members',
  z.strictObject({ store: store(), set: z.string().min(1), generation: z.number().int().nonnegative(), members: z.array(MemberSchema).optional(), members_file: filePath().optional(), weight: z.number().optional(), skip_trained: z.boolean().optional() }),
  z.object({ set: z.string(), count: z.number(), skipped: z.array(z.string()) }),
);

export interface MemberInput {
  id: string;
  oracle: string;
  settings_hash: string;
  /** Training weight relative to a DFT label (1). */
  weight?: number;
  config_type?: string;
}

/**
 * Add exact labels to a named set of the store (e.g. a generation's training data); idempotent. With
 * `skipTrained` (validation set), structures already training data are left out (listed in `skipped`)
 * instead of refusing the call.
 */
export async function addMembers(input: { runDir: string; set: string; generation: number; members?: MemberInput[]; membersFile?: string; skipTrained?: boolean }): Promise<{ set: string; count: number; skipped: string[] }> {
  return helperCall(input.runDir, StoreMembers, {
    store: storePath(input.runDir),
    set: input.set,
    generation: input.generation,
    members: input.members,
    members_file: input.membersFile && path.resolve(input.membersFile),
    skip_trained: input.skipTrained,
  });
}

// Datasets in the trainers' own formats: Pacemaker's gzip-pickled DataFrame (.pckl.gzip) and MACE's
// extxyz (REF_energy / REF_forces / REF_stress), always exported from the run's store (by filter, or by
// named sets of exact labels with per-member weights), or imported into it. Payloads carry paths and
// checksums.
import path from 'node:path';
import { z } from 'zod';
import { FilterPayload, filterPayload, helperCall, MemberSchema, storePath, type MemberInput, type StoreFilter } from './store';
import { contract, filePath } from '../runtime/contract';
import { runLayout } from '../../common/run-layout';

export const DatasetFileSchema = z.object({
  split: z.enum(['train', 'test']),
  format: z.enum(['pckl', 'extxyz']),
  path: z.string(),
  count: z.number(),
  sha256: z.string(),
});
export type DatasetFile = z.infer<typeof DatasetFileSchema>;

export const ExportResultSchema = z
  .object({
    count: z.number(),
    train: z.number(),
    test: z.number(),
    /** Structures of the campaign's validation/test split left out of a filter export's training file. */
    held_out: z.number(),
    unlabelled: z.number(),
    by_oracle: z.record(z.string(), z.number()),
    elements: z.array(z.string()),
    files: z.array(DatasetFileSchema),
  })
  .transform(({ by_oracle, held_out, ...r }) => ({
    ...r,
    byOracle: by_oracle,
    heldOut: held_out,
    /** The training split's files (the references workflows pass on), when written. */
    pckl: r.files.find((f) => f.format === 'pckl' && f.split === 'train')?.path,
    extxyz: r.files.find((f) => f.format === 'extxyz' && f.split === 'train')?.path,
  }));
export type ExportResult = z.output<typeof ExportResultSchema>;

export interface ExportDatasetInput {
  runDir: string;
  /** File stem: <outDir>/<name>.pckl.gzip and <name>.extxyz (test split: <name>.test.*). */
  name: string;
  outDir?: string;
  formats?: ('pckl' | 'extxyz')[];
  filter?: Omit<StoreFilter, 'labelState' | 'oracle' | 'settingsHash'>;
  /** Instead of a filter: the members of these named sets (exact labels, per-member weights)... */
  sets?: string[];
  /** ...whose generation lies in this range. */
  setGenerations?: { min?: number; max?: number };
  /** ...labelled by one of these oracles only (e.g. ['dft']: a fit without the teacher's labels). */
  setOracles?: string[];
  /** Add these members to a set first, in the same call (members inline or a members file). */
  define?: { set: string; generation: number; members?: MemberInput[]; membersFile?: string; weight?: number };
  /** Oracle priority: each structure's label comes from the first oracle that labelled it (default dft). */
  oracles?: string[];
  settingsHash?: string;
  /** Share of structures held out by hash into the .test. files (0: one file per format). */
  testFraction?: number;
  /** eV per atom; energy_corrected = energy - sum of these (missing: energy_corrected = energy). */
  referenceEnergies?: Record<string, number>;
  /** Per-oracle weights as w_energy / w_forces columns (Pacemaker then ignores its weighting policy). */
  weights?: Record<string, number>;
  requireStress?: boolean;
  /** The ACE cutoff (Å, default 5): slabs go to Pacemaker as periodic cells and need more vacuum than this. */
  cutoff?: number;
}

export const DatasetExport = contract(
  'dataset-export',
  z.strictObject({
    store: filePath(),
    ...FilterPayload,
    sets: z.array(z.string().min(1)).optional(),
    set_generation_min: z.number().int().nonnegative().optional(),
    set_generation_max: z.number().int().nonnegative().optional(),
    set_oracles: z.array(z.string().min(1)).optional(),
    define: z
      .strictObject({ set: z.string().min(1), generation: z.number().int().nonnegative(), members: z.array(MemberSchema).optional(), members_file: filePath().optional(), weight: z.number().optional() })
      .optional(),
    oracles: z.array(z.string()),
    pckl: filePath().optional(),
    extxyz: filePath().optional(),
    test_fraction: z.number(),
    reference_energies: z.record(z.string(), z.number()).optional(),
    weights: z.record(z.string(), z.number()).optional(),
    require_stress: z.boolean(),
    cutoff: z.number().positive().optional(),
  }),
  ExportResultSchema,
);

export async function exportDataset(input: ExportDatasetInput): Promise<ExportResult> {
  const outDir = input.outDir ?? runLayout(input.runDir).datasetsDir;
  const formats = input.formats ?? ['pckl', 'extxyz'];
  return helperCall(input.runDir, DatasetExport, {
    store: storePath(input.runDir),
    ...filterPayload(input.filter),
    sets: input.sets,
    set_generation_min: input.setGenerations?.min,
    set_generation_max: input.setGenerations?.max,
    set_oracles: input.setOracles,
    define: input.define && {
      set: input.define.set,
      generation: input.define.generation,
      members: input.define.members,
      members_file: input.define.membersFile && path.resolve(input.define.membersFile),
      weight: input.define.weight,
    },
    oracles: input.oracles ?? ['dft'],
    settings_hash: input.settingsHash,
    pckl: formats.includes('pckl') ? path.resolve(outDir, `${input.name}.pckl.gzip`) : undefined,
    extxyz: formats.includes('extxyz') ? path.resolve(outDir, `${input.name}.extxyz`) : undefined,
    test_fraction: input.testFraction ?? 0,
    reference_energies: input.referenceEnergies,
    weights: input.weights,
    require_stress: input.requireStress ?? false,
    cutoff: input.cutoff,
  });
}

export const ImportResultSchema = z
  .object({
    rows: z.number(),
    duplicates_in_file: z.number(),
    structures_inserted: z.number(),
    structures_existing: z.number(),
    structures_skipped: z.number(),
    labels_inserted: z.number(),
    labels_existing: z.number(),
    labels_skipped: z.number(),
  })
  .transform((r) => ({
    rows: r.rows,
    duplicatesInFile: r.duplicates_in_file,
    structures: { inserted: r.structures_inserted, existing: r.structures_existing, skipped: r.structures_skipped },
    labels: { inserted: r.labels_inserted, existing: r.labels_existing, skipped: r.labels_skipped },
  }));
export type ImportResult = z.output<typeof ImportResultSchema>;

export interface ImportDatasetInput {
  runDir: string;
  /** .pckl.gzip (Pacemaker) or extxyz / any ASE-readable file with energies and forces. */
  file: string;
  format?: 'pckl' | 'extxyz';
  /** Override the file's own metadata (columns / info keys oracle, settings_hash, source, generation). */
  oracle?: string;
  settingsHash?: string;
  source?: string;
  generation?: number;
  elements?: string[];
  minDistance?: number;
  onDuplicate?: 'error' | 'skip';
  requireStress?: boolean;
  keys?: { energy?: string; forces?: string; stress?: string };
}

export const DatasetImport = contract(
  'dataset-import',
  z.strictObject({
    store: filePath(),
    file: filePath(),
    format: z.enum(['pckl', 'extxyz']).optional(),
    oracle: z.string().optional(),
    settings_hash: z.string().optional(),
    source: z.string().optional(),
    generation: z.number().int().nonnegative().optional(),
    elements: z.array(z.string()).optional(),
    min_distance: z.number().nonnegative(),
    on_duplicate: z.enum(['error', 'skip']),
    require_stress: z.boolean(),
    energy_key: z.string().optional(),
    forces_key: z.string().optional(),
    stress_key: z.string().optional(),
  }),
  ImportResultSchema,
);

/** Validate every row, then insert structures and labels in one transaction (all or nothing). */
export async function importDataset(input: ImportDatasetInput): Promise<ImportResult> {
  return helperCall(input.runDir, DatasetImport, {
    store: storePath(input.runDir),
    file: path.resolve(input.file),
    format: input.format,
    oracle: input.oracle,
    settings_hash: input.settingsHash,
    source: input.source,
    generation: input.generation,
    elements: input.elements,
    min_distance: input.minDistance ?? 0.5,
    on_duplicate: input.onDuplicate ?? 'error',
    require_stress: input.requireStress ?? false,
    energy_key: input.keys?.energy,
    forces_key: input.keys?.forces,
    stress_key: input.keys?.stress,
  });
}

const Range = z.object({ min: z.number().nullable(), max: z.number().nullable() });
export const DatasetInfoSchema = z.union([
  z.object({
    kind: z.enum(['pckl', 'extxyz']),
    file: z.string(),
    count: z.number(),
    unique_structures: z.number(),
    elements: z.array(z.string()),
    natoms: Range.extend({ mean: z.number() }),
    energy_per_atom: Range,
    max_abs_force: z.number(),
    with_stress: z.number(),
    by_oracle: z.record(z.string(), z.number()),
    bytes: z.number(),
    columns: z.array(z.string()).optional(),
    weights: z.boolean().optional(),
  }),
  z.object({ kind: z.literal('store') }).loose(),
]);
export type DatasetInfo = z.infer<typeof DatasetInfoSchema>;
export const DatasetInfo = contract('dataset-info', z.strictObject({ file: filePath() }), DatasetInfoSchema);

/** What a dataset file (or a store) holds; validates every row on the way. */
export async function datasetInfo(input: { file: string; runDir?: string }): Promise<DatasetInfo> {
  return helperCall(input.runDir, DatasetInfo, { file: path.resolve(input.file) });
}

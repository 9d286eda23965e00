// Structure generation, the one generator of campaigns, the teacher's seeds, MD starts and the CLI (the
// generator helper does the ASE work): the campaign's whole generation section (every mode), exact
// extxyz out, and optionally the same structures into the run's store in one transaction.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { Campaign } from '../../common/campaign-schema';
import { callPython } from '../runtime/python';
import { contract, filePath } from '../runtime/contract';
import { activityIds } from '../runtime/context';
import { storePath } from '../store/store';
import { runLayout } from '../../common/run-layout';

/** The generator's input from a campaign's system and generation sections (pure, so CLI and activity agree). */
export function generatorRecipe(system: Campaign['system'], g: Campaign['generation'], opts: { count?: number; seed: number; structureFile?: string }) {
  const structureFile = opts.structureFile ?? system.structure_file;
  return {
    prototype: structureFile ? undefined : system.prototype,
    structure_file: structureFile,
    elements: system.elements,
    supercell: system.supercell,
    count: opts.count ?? g.count,
    seed: opts.seed,
    min_distance: g.min_distance,
    rattle_sigma: g.rattle_sigma,
    volume_range: g.volume_range,
    shear_max: g.shear_max,
    fractions: {
      shear: g.shear_fraction,
      vacancy: g.vacancy_fraction,
      interstitial: g.interstitial_fraction,
      antisite: g.antisite_fraction,
      surface: g.surface_fraction,
    },
    max_defects: g.max_defects,
    substitution: g.substitution,
    surface: g.surface,
  };
}

const Recipe = {
  prototype: z.record(z.string(), z.unknown()).optional(),
  structure_file: filePath().optional(),
  elements: z.array(z.string()),
  supercell: z.array(z.number().int().positive()).length(3),
  count: z.number().int().positive(),
  seed: z.number().int().nonnegative(),
  min_distance: z.number().positive(),
  rattle_sigma: z.number().nonnegative(),
  volume_range: z.array(z.number().positive()).length(2),
  shear_max: z.number().nonnegative(),
  fractions: z.strictObject({ shear: z.number(), vacancy: z.number(), interstitial: z.number(), antisite: z.number(), surface: z.number() }),
  max_defects: z.number().int().positive(),
  substitution: z.record(z.string(), z.number()).optional(),
  surface: z.strictObject({ miller: z.array(z.array(z.number().int()).length(3)), layers: z.number().int().positive(), vacuum: z.number().positive() }),
};

/** The generator's recipe as the helpers read it (structures-generate, safety-describe). */
export const RecipeSchema = z.strictObject(Recipe);

export const GeneratedSchema = z
  .object({
    output: z.string(),
    count: z.number(),
    /** Absent with return_ids false (a large set: the file carries the ids, structure_id per frame). */
    ids: z.array(z.string()).optional(),
    rejected: z.number(),
    duplicates: z.number(),
    modes: z.record(z.string(), z.number()),
    parent_id: z.string(),
    natoms: z.number(),
    natoms_max: z.number(),
    store: z.object({ store: z.string(), inserted: z.number(), existing: z.number() }).optional(),
  })
  .transform(({ parent_id, natoms_max, ...r }) => ({ ...r, parentId: parent_id, natomsMax: natoms_max }));
export type Generated = z.output<typeof GeneratedSchema>;
export const StructuresGenerate = contract(
  'structures-generate',
  z.strictObject({
    ...Recipe,
    output: filePath(),
    return_ids: z.boolean(),
    insert: z
      .strictObject({ store: filePath(), source: z.string().min(1), generation: z.number().int().nonnegative(), on_duplicate: z.enum(['error', 'skip']), workflow_id: z.string().optional(), activity_id: z.string().optional() })
      .optional(),
  }),
  GeneratedSchema,
);
export const StructuresIndex = contract(
  'structures-index',
  z.strictObject({ input: filePath(), output: filePath(), min_distance: z.number().nonnegative().optional() }),
  z.object({
    output: z.string(),
    ids: z.array(z.string()),
    count: z.number(),
    /** Size, cell, species and what the DFT pre-flight would refuse, per frame (the CLI's cost guard). */
    frames: z.array(z.object({ natoms: z.number(), cell: z.array(z.array(z.number())), symbols: z.array(z.string()), problem: z.string().nullable() })),
  }),
);

/** The content-hash ids (the store's keys) of every structure in an ASE-readable file, in order; the indexed copy goes to workDir (a new temporary folder by default). */
export async function structureIdsOf(file: string, workDir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-index-'))): Promise<string[]> {
  const r = await callPython(StructuresIndex, { input: file, output: path.join(workDir, 'indexed.extxyz') }, { workDir });
  return r.ids;
}

export interface GenerateStructuresInput {
  runDir: string;
  /** File name stem: <runDir>/structures/<name>.extxyz */
  name: string;
  system: Campaign['system'];
  generation: Campaign['generation'];
  seed: number;
  count?: number;
  /** Insert into <runDir>/store.sqlite with this provenance (same transaction semantics as insertStructures). */
  store?: { source: string; generation: number; onDuplicate?: 'error' | 'skip' };
  output?: string;
  /** Ids in the reply (default true); workflows over large sets read them from the file instead. */
  returnIds?: boolean;
}

/** Exactly `count` distinct structures from the campaign's recipe; the same seed gives the same file. */
export async function generateStructures(input: GenerateStructuresInput & { returnIds: false }): Promise<Generated>;
export async function generateStructures(input: GenerateStructuresInput): Promise<Generated & { ids: string[] }>;
export async function generateStructures(input: GenerateStructuresInput): Promise<Generated> {
  const dir = runLayout(input.runDir).structuresDir;
  const output = input.output ?? path.join(dir, `${input.name}.extxyz`);
  return callPython(
    StructuresGenerate,
    {
      ...generatorRecipe(input.system, input.generation, { count: input.count, seed: input.seed }),
      output,
      return_ids: input.returnIds ?? true,
      insert: input.store && {
        store: storePath(input.runDir),
        source: input.store.source,
        generation: input.store.generation,
        on_duplicate: input.store.onDuplicate ?? 'error',
        ...activityIds(),
      },
    },
    { workDir: path.join(dir, 'logs', input.name) },
  );
}

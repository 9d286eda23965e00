// Structure generation for campaigns (the generator helper does the ASE work): exact extxyz out, and
// optionally the same structures into the run's store in one transaction.
import path from 'node:path';
import { z } from 'zod';
import type { Campaign } from '../../common/campaign-schema';
import { callPython } from '../runtime/python';
import { activityIds } from '../runtime/context';
import { storePath } from '../store/store';
import { runLayout } from '../../common/run-layout';

export const MakeStructuresResult = z.object({ output: z.string(), ids: z.array(z.string()), rejected: z.number(), natoms: z.number() });
export type MadeStructures = z.infer<typeof MakeStructuresResult>;

export interface MakeStructuresInput {
  runDir: string;
  name: string;
  system: Campaign['system'];
  count: number;
  rattleSigma: number;
  volumeRange: [number, number];
  minDistance: number;
  seed: number;
  supercell?: [number, number, number];
}

/** The foundation's simple generator (rattle + isotropic strain only), used by the smoke workflow. */
export async function makeStructures(input: MakeStructuresInput): Promise<MadeStructures> {
  const dir = runLayout(input.runDir).structuresDir;
  return callPython(
    'structures-make',
    {
      prototype: input.system.prototype,
      structure_file: input.system.structure_file,
      elements: input.system.elements,
      supercell: input.supercell ?? input.system.supercell,
      count: input.count,
      rattle_sigma: input.rattleSigma,
      volume_range: input.volumeRange,
      min_distance: input.minDistance,
      seed: input.seed,
      output: path.join(dir, `${input.name}.extxyz`),
    },
    MakeStructuresResult,
    { workDir: path.join(dir, 'logs', input.name) },
  );
}

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

export const GeneratedSchema = z
  .object({
    output: z.string(),
    ids: z.array(z.string()),
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
}

/** Exactly `count` distinct structures from the campaign's recipe; the same seed gives the same file. */
export async function generateStructures(input: GenerateStructuresInput): Promise<Generated> {
  const dir = runLayout(input.runDir).structuresDir;
  const output = input.output ?? path.join(dir, `${input.name}.extxyz`);
  return callPython(
    'structures-generate',
    {
      ...generatorRecipe(input.system, input.generation, { count: input.count, seed: input.seed }),
      output,
      insert: input.store && {
        store: storePath(input.runDir),
        source: input.store.source,
        generation: input.store.generation,
        on_duplicate: input.store.onDuplicate ?? 'error',
        ...activityIds(),
      },
    },
    GeneratedSchema,
    { workDir: path.join(dir, 'logs', input.name) },
  );
}

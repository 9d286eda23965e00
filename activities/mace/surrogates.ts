// Surrogate data (control queue): perturbed copies (rattle + strain) of the new DFT structures, to be
// labelled by the teacher committee into the run's store (the training set is then a store export).
import path from 'node:path';
import { z } from 'zod';
import { callPython } from '../runtime/python';
import { contract, filePath } from '../runtime/contract';
import { runLayout } from '../../common/run-layout';

export interface SurrogateParent {
  structure_file: string;
  index: number;
  id: string;
}

export interface MakeSurrogatesInput {
  runDir: string;
  name: string;
  parents: SurrogateParent[];
  perStructure: number;
  rattleSigma: number;
  strainMax: number;
  seed: number;
  minDistance?: number;
}

export const MaceSurrogates = contract(
  'mace-surrogates',
  z.strictObject({
    parents: z.array(z.strictObject({ structure_file: filePath(), index: z.number().int().nonnegative(), id: z.string().min(1) })),
    per_structure: z.number().int().nonnegative(),
    rattle_sigma: z.number().nonnegative(),
    strain_max: z.number().nonnegative(),
    seed: z.number().int(),
    min_distance: z.number().nonnegative(),
    output: filePath(),
  }),
  z.object({ output: z.string(), ids: z.array(z.string()), parents: z.array(z.string()), rejected: z.number() }),
);
export type SurrogatesOutput = z.infer<typeof MaceSurrogates.result>;

export async function makeSurrogates(input: MakeSurrogatesInput): Promise<SurrogatesOutput> {
  const dir = runLayout(input.runDir).surrogatesDir;
  return callPython(
    MaceSurrogates,
    {
      parents: input.parents,
      per_structure: input.perStructure,
      rattle_sigma: input.rattleSigma,
      strain_max: input.strainMax,
      seed: input.seed,
      min_distance: input.minDistance ?? 1.5,
      output: path.join(dir, `${input.name}.extxyz`),
    },
    { workDir: path.join(dir, 'logs') },
  );
}

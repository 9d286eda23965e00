// Structure generation for campaigns (the generator helper does the ASE work).
import path from 'node:path';
import { z } from 'zod';
import type { Campaign } from '../common/campaign-schema';
import { callPython } from './python';

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

export async function makeStructures(input: MakeStructuresInput): Promise<MadeStructures> {
  const dir = path.join(input.runDir, 'structures');
  return callPython(
    'structures-make',
    {
      prototype: input.system.prototype,
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
    { workDir: path.join(dir, 'logs') },
  );
}

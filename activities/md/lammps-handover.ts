// The LAMMPS hand-over of every fitted potential: in.lammps (pace/extrapolation with the .yaml and .asi,
// fix pair gamma, fix halt, gamma in thermo; pair_style pace with the .yace for production) and
// structure.data (a training structure, types in the potential's element order, with masses), written
// beside the potential by the md-lammps helper. Not executed here: no registry LAMMPS has ML-PACE.
import path from 'node:path';
import { z } from 'zod';
import { contract, filePath } from '../runtime/contract';
import { callPython } from '../runtime/python';

export const LammpsHandover = z.object({ in_lammps: z.string(), data: z.string().nullable(), elements: z.array(z.string()), atoms: z.number() });
export type LammpsHandover = z.infer<typeof LammpsHandover>;

export const MdLammps = contract(
  'md-lammps',
  z.strictObject({ dir: filePath(), potential: filePath(), yace: filePath(), active_set: filePath().optional(), dataset: filePath().optional() }),
  LammpsHandover,
);

/** Write in.lammps (and structure.data from the first periodic structure of `datasetFile`) next to the potential. */
export async function writeLammpsHandover(fit: { potentialYaml: string; yace: string; asi?: string }, datasetFile?: string): Promise<LammpsHandover> {
  const dir = path.dirname(fit.potentialYaml);
  return callPython(
    MdLammps,
    { dir, potential: fit.potentialYaml, yace: fit.yace, active_set: fit.asi, dataset: datasetFile && path.resolve(datasetFile) },
    { workDir: path.join(dir, 'check') },
  );
}

// The DFT benchmarks' input: n rattled 8-atom Si cells, and their structure ids (content hashes, as the
// store keys structures: the DFT activity refuses any other id), through the same helper `autopipe label
// dft` indexes with.
import { execa } from 'execa';
import { structureIdsOf } from '../activities/structures/generate';
import { pythonExe } from '../host/paths';

/** The structure ids of a file's structures (the store's content hashes). */
export { structureIdsOf as structureIds };

/** Write n rattled Si-8 cells (seeds 100..) to `file`; their structure ids. */
export async function rattledSiCells(file: string, n: number): Promise<string[]> {
  await execa(pythonExe, ['-c', `
from ase.build import bulk
from ase.io import write
fr = []
for i in range(${n}):
    a = bulk('Si', 'diamond', a=5.43, cubic=True); a.rattle(0.04, seed=100 + i); fr.append(a)
write(${JSON.stringify(file)}, fr)`]);
  return structureIdsOf(file);
}

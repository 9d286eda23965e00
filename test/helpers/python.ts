// Run a short Python snippet in the project venv (for independent cross-checks with ASE/MACE).
import { execa } from 'execa';
import { pythonExe, pythonPath } from '../../host/paths';

export async function py(code: string, env: Record<string, string> = {}): Promise<string> {
  const r = await execa(pythonExe, ['-c', code], { env: { PYTHONPATH: pythonPath, TF_CPP_MIN_LOG_LEVEL: '3', ...env } });
  return r.stdout.trim().split('\n').pop() ?? '';
}

export async function pyJson<T = unknown>(code: string): Promise<T> {
  return JSON.parse(await py(code)) as T;
}

/** The structure ids of a file's structures (the store's content hashes: the DFT activity refuses any other id). */
export { structureIdsOf as structureIds } from '../../activities/structures/generate';

/**
 * Frames [from, to) of a labelled test set (ASE's calculator results) written in the dataset writer's format
 * (REF_energy, REF_forces, REF_stress), with their store ids: DFT labels to import or fine-tune on.
 */
export async function labelledFrames(testset: string, file: string, from: number, to: number) {
  return pyJson<{ ids: string[] }>(`
import json
from ase.io import read
from activities.structures.commands import structure_id
from activities.structures.extxyz import format_frame, labelled_info
ids = []
with open(${JSON.stringify(file)}, 'w') as fh:
    for a in read(${JSON.stringify(testset)}, '${from}:${to}'):
        b = a.copy(); b.calc = None; b.info = {}
        b.arrays.pop('momenta', None)
        fh.write(format_frame(b, labelled_info(a.get_potential_energy(), a.get_stress(), {'config_type': a.info['config_type']}), a.get_forces()))
        ids.append(structure_id(b))
print(json.dumps({'ids': ids}))`);
}

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

// Run a short Python snippet in the project venv (for independent cross-checks with ASE/MACE).
import { execa } from 'execa';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { structureIdsOf } from '../../activities/structures/generate';
import { pythonExe, pythonPath } from '../../host/paths';

export async function py(code: string, env: Record<string, string> = {}): Promise<string> {
  const r = await execa(pythonExe, ['-c', code], { env: { PYTHONPATH: pythonPath, TF_CPP_MIN_LOG_LEVEL: '3', ...env } });
  return r.stdout.trim().split('\n').pop() ?? '';
}

export async function pyJson<T = unknown>(code: string): Promise<T> {
  return JSON.parse(await py(code)) as T;
}

/** The structure ids of a file's structures (the store's content hashes: the DFT activity refuses any other id). */
export const structureIds = (file: string): Promise<string[]> => structureIdsOf(file, mkdtempSync(path.join(os.tmpdir(), 'autopipe-test-index-')));

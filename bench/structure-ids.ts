// The structure ids of a file's frames for the benchmarks: content hashes, as the store keys structures
// (the DFT activity refuses any other id). Through the same helper `autopipe label dft` indexes with.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { callPython } from '../activities/runtime/python';
import { StructuresIndex } from '../activities/structures/generate';

export async function structureIds(file: string): Promise<string[]> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'autopipe-bench-index-'));
  const r = await callPython(StructuresIndex, { input: file, output: path.join(scratch, 'indexed.extxyz') }, { workDir: scratch });
  return r.ids;
}

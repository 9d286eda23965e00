// A structure the self-healing ladder could not heal (control queue): its failure record beside pw.x's
// attempts, and a flagged DFT label in the store, so the campaign goes on, reports it, and a later real
// label of the same key replaces the flag.
import path from 'node:path';
import { writeFileAtomic } from '../runtime/files';
import { recordLabels } from '../store/store';
import { dftDir, dftLabelKey } from './qe';
import type { DftSettings } from '../../common/campaign-schema';

export interface DftFailureInput {
  runDir: string;
  structureId: string;
  /** The structure's file and index (the store records the structure with its flagged label). */
  structureFile: string;
  index: number;
  dft: DftSettings;
  reason: string;
  attempts: number;
  source?: string;
  generation?: number;
}

export async function recordDftFailure(input: DftFailureInput): Promise<string> {
  const key = dftLabelKey(input.structureId, input.dft);
  const file = path.join(dftDir(input.runDir, input.structureId), `failed-${key}.json`);
  writeFileAtomic(file, JSON.stringify({ structureId: input.structureId, labelKey: key, reason: input.reason, attempts: input.attempts, at: new Date().toISOString() }, null, 1));
  // No distance check: a structure pw.x could not converge is recorded whatever its geometry.
  await recordLabels({ runDir: input.runDir, file: input.structureFile, indices: [input.index], source: input.source ?? 'dft', generation: input.generation ?? 0, minDistance: 0, labelFiles: [file] });
  return file;
}

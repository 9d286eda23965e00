// Cheap bookkeeping activities for labels (control queue).
import path from 'node:path';
import { writeFileAtomic } from '../runtime/files';
import { dftDir, dftLabelKey } from './qe';
import type { DftSettings } from '../../common/campaign-schema';

export interface DftFailureInput {
  runDir: string;
  structureId: string;
  dft: DftSettings;
  reason: string;
  attempts: number;
}

/** A structure the ladder could not heal: recorded, so the campaign goes on and reports it. */
export async function recordDftFailure(input: DftFailureInput): Promise<string> {
  const key = dftLabelKey(input.structureId, input.dft);
  const file = path.join(dftDir(input.runDir, input.structureId), `failed-${key}.json`);
  writeFileAtomic(file, JSON.stringify({ structureId: input.structureId, labelKey: key, reason: input.reason, attempts: input.attempts, at: new Date().toISOString() }, null, 1));
  return file;
}

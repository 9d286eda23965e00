// A zero-shot SevenNet-0 teacher's energy reference (ml queue): per-element shifts fitted on the seed DFT
// labels, written to a JSON file that labelling, scoring and the validation set then read beside the bundled
// weights (helper activities/mace/sevennet_reference.py says why). Runs in SevenNet's own helper server
// (e3nn 0.5). The file is named by the run layout; its content is part of every SevenNet label's store key.
import { ApplicationFailure } from '@temporalio/common';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { NonRetryableErrors } from '../../common/errors';
import { contract, filePath } from '../runtime/contract';
import { sevennetServer } from '../runtime/helper-server';

export const SevennetReferenceResultSchema = z.object({
  reference: z.string(),
  shift_ev_atom: z.record(z.string(), z.number()),
  structures: z.number().int(),
  energy_rmse_before_shift_mev_atom: z.number(),
  energy_rmse_after_shift_mev_atom: z.number(),
});

export const SevennetReference = contract(
  'mace-sevennet-reference',
  z.strictObject({ dataset: filePath(), output: filePath(), device: z.enum(['cpu', 'cuda']) }),
  SevennetReferenceResultSchema,
);

export interface SevennetReferenceResult {
  /** The reference file (teacher.kind sevennet's one "model" file from now on). */
  reference: string;
  /** eV/atom added per atom of each element: DFT zero minus SevenNet's. */
  shift: Record<string, number>;
  structures: number;
  /** Per-atom energy RMSE on the seeds before and after the shift (meV/atom). */
  energyRmseBeforeShift: number;
  energyRmseAfterShift: number;
}

export async function fitSevennetReference(input: { dataset: string; output: string; device?: 'cpu' | 'cuda' }): Promise<SevennetReferenceResult> {
  if (!existsSync(input.dataset)) {
    throw ApplicationFailure.create({ type: NonRetryableErrors.InvalidInput, nonRetryable: true, message: `seed dataset not found: ${input.dataset}` });
  }
  const output = path.resolve(input.output);
  const work = path.dirname(output);
  const r = await sevennetServer().request(
    SevennetReference,
    { dataset: path.resolve(input.dataset), output, device: input.device ?? 'cpu' },
    { workDir: work, logFile: path.join(work, 'sevennet-reference.log') },
  );
  return {
    reference: r.reference,
    shift: r.shift_ev_atom,
    structures: r.structures,
    energyRmseBeforeShift: r.energy_rmse_before_shift_mev_atom,
    energyRmseAfterShift: r.energy_rmse_after_shift_mev_atom,
  };
}

// DFT labelling of a structure set: one activity per structure (its summary names the structure), a
// sliding window of dft.concurrency, failures recorded and counted instead of failing the campaign.
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import type { DftLabelRef } from '../activities/dft/qe';
import type { DftSettings } from '../common/campaign-schema';
import { control, dftActivityOptions, dftProxy } from './activity-options';
import { progressSettled, reportDft } from './progress';
import { slidingWindow } from './window';

export interface LabellingInput {
  runDir: string;
  dft: DftSettings;
  /** extxyz with the structures; ids[i] is the structure at index i. */
  structureFile: string;
  ids: string[];
  minDistance?: number;
}

export interface LabellingResult {
  labelled: number;
  healed: number;
  reused: number;
  failed: number;
  labels: { structureId: string; index: number; labelFile: string }[];
  failures: { structureId: string; reason: string }[];
}

export async function labellingWorkflow(input: LabellingInput): Promise<LabellingResult> {
  const dft = dftProxy(input.dft);
  const result: LabellingResult = { labelled: 0, healed: 0, reused: 0, failed: 0, labels: [], failures: [] };
  let done = 0;
  const running = new Set<string>();
  const progress = () => reportDft({ done, total: input.ids.length, labelled: result.labelled, healed: result.healed, failed: result.failed, running: [...running] });
  await slidingWindow(input.ids, input.dft.concurrency, async (structureId, index) => {
    running.add(structureId);
    progress();
    try {
      const ref: DftLabelRef = await dft.dftLabel.executeWithOptions(
        { ...dftActivityOptions(input.dft), summary: `DFT ${structureId}` },
        [{ runDir: input.runDir, structureId, structureFile: input.structureFile, index, dft: input.dft, minDistance: input.minDistance }],
      );
      result.labelled++;
      if (ref.healed) result.healed++;
      if (ref.reused) result.reused++;
      result.labels.push({ structureId, index, labelFile: ref.labelFile });
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      const cause = err.cause instanceof ApplicationFailure ? `${err.cause.type}: ${err.cause.message}` : String(err.cause ?? err.message);
      result.failed++;
      result.failures.push({ structureId, reason: cause.slice(0, 500) });
      await control.recordDftFailure({ runDir: input.runDir, structureId, dft: input.dft, reason: cause, attempts: input.dft.max_retries + 1 });
    }
    done++;
    running.delete(structureId);
    progress();
  });
  result.labels.sort((a, b) => a.index - b.index);
  await progressSettled(); // the campaign counts the last calculation before this workflow closes
  return result;
}

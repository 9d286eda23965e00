// DFT labelling of a structure set: one activity per structure (its summary names the structure), a
// sliding window of dft.concurrency, failures recorded and counted instead of failing the campaign.
// Labels healed by changing the physics train only when dft.train_physics_changed allows it; otherwise
// they are returned apart (`untrained`), for the store but not for training sets.
import { ActivityFailure, ApplicationFailure, setCurrentDetails } from '@temporalio/workflow';
import type { DftLabelRef } from '../activities/dft/qe';
import type { DftSettings } from '../common/campaign-schema';
import { control, dftActivityOptions, dftProxy } from './activity-options';
import { slidingWindow } from './window';

export interface LabellingInput {
  runDir: string;
  dft: DftSettings;
  /** extxyz with the structures; ids[i] is the structure at index i. */
  structureFile: string;
  ids: string[];
  minDistance?: number;
  /** Provenance of structures the run's store does not hold yet (source, generation). */
  store?: { source?: string; generation: number };
}

type LabelRef = { structureId: string; index: number; labelKey: string; labelFile: string };

export interface LabellingResult {
  labelled: number;
  /** SCF failures healed (a retry after a crash is not counted). */
  healed: number;
  /** Of those, healed by changing the physics (smearing switched on): flagged in their provenance. */
  physicsChanged: number;
  reused: number;
  failed: number;
  /**
   * The labels training may use. Each label's store key is (structureId, "dft", labelKey); labelFile is
   * pw.x's raw record. A label healed by changing the physics has its own labelKey.
   */
  labels: LabelRef[];
  /** Physics-changed labels kept out of training (dft.train_physics_changed: false); in the store all the same. */
  untrained: LabelRef[];
  failures: { structureId: string; reason: string }[];
}

export async function labellingWorkflow(input: LabellingInput): Promise<LabellingResult> {
  const dft = dftProxy(input.dft);
  const result: LabellingResult = { labelled: 0, healed: 0, physicsChanged: 0, reused: 0, failed: 0, labels: [], untrained: [], failures: [] };
  const trainChanged = input.dft.train_physics_changed ?? true;
  let done = 0;
  await slidingWindow(input.ids, input.dft.concurrency, async (structureId, index) => {
    try {
      const ref: DftLabelRef = await dft.dftLabel.executeWithOptions(
        { ...dftActivityOptions(input.dft), summary: `DFT ${structureId}` },
        [{ runDir: input.runDir, structureId, structureFile: input.structureFile, index, dft: input.dft, minDistance: input.minDistance, ...input.store }],
      );
      result.labelled++;
      if (ref.healed) result.healed++;
      if (ref.physicsChanged) result.physicsChanged++;
      if (ref.reused) result.reused++;
      (ref.physicsChanged && !trainChanged ? result.untrained : result.labels).push({ structureId, index, labelKey: ref.labelKey, labelFile: ref.labelFile });
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      const cause = err.cause instanceof ApplicationFailure ? `${err.cause.type}: ${err.cause.message}` : String(err.cause ?? err.message);
      result.failed++;
      result.failures.push({ structureId, reason: cause.slice(0, 500) });
      // Recorded in the store as a flagged label; if even that fails, the failure is still counted and returned.
      await control
        .recordDftFailure({ runDir: input.runDir, structureId, structureFile: input.structureFile, index, dft: input.dft, reason: cause, attempts: input.dft.max_retries + 1, ...input.store })
        .catch((e: unknown) => {
          if (!(e instanceof ActivityFailure)) throw e;
          result.failures[result.failures.length - 1]!.reason += ` (not recorded in the store: ${e.cause instanceof Error ? e.cause.message.slice(0, 200) : e.message})`;
        });
    }
    done++;
    setCurrentDetails(`DFT ${done}/${input.ids.length}: ${result.labelled} labelled (${result.healed} healed), ${result.failed} failed`);
  });
  result.labels.sort((a, b) => a.index - b.index);
  result.untrained.sort((a, b) => a.index - b.index);
  return result;
}

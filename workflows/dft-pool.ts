// The DFT phase's choice: MD candidates and teacher-doubted structures in one pool, one D-optimal
// (MaxVol) ranking with the current potential, the budget's worth most informative first, and
// `exploration.random_share` of the budget drawn at random from the rest (MaxVol alone favours the most
// extrapolative frames; docs/evaluation.md measured random picks from the same pools doing better).
// What is not picked is counted: teacher-doubted structures keep waiting, MD candidates are left (the
// next generation's MD samples with a better potential).
import { ActivityFailure, patched } from '@temporalio/workflow';
import type { Campaign } from '../common/campaign-schema';
import { runLayout } from '../common/run-layout';
import { sampleWithoutReplacement } from '../common/sample';
import { control, ml } from './activity-options';

export interface PickForDftInput {
  runDir: string;
  campaign: Campaign;
  generation: number;
  potential: string;
  n: number;
  /** This generation's MD candidates the teacher doubts (a routing queue), or all of them (extxyz). */
  mdQueue?: string;
  mdFile?: string;
  /** The waiting teacher-doubted structures (a queue file). */
  pending?: string;
}

export async function pickForDft(input: PickForDftInput) {
  const { runDir, generation: g } = input;
  const pool = await control.assembleDftPool({ runDir, generation: g, mdQueue: input.mdQueue, mdFile: input.mdFile, pending: input.pending });
  if (pool.count === 0 || !pool.file) return undefined;
  let indices: number[];
  let method: string;
  if (pool.count <= input.n) {
    indices = Array.from({ length: pool.count }, (_, i) => i);
    method = `all ${pool.count} fit the budget`;
  } else {
    const share = patched('random-share') ? input.campaign.exploration.random_share : 0;
    const nRandom = Math.round(input.n * share);
    try {
      indices = [];
      method = '';
      if (input.n - nRandom > 0) {
        const sel = await ml.selectDOptimal({ candidates: pool.file, n: input.n - nRandom, potential: input.potential, workDir: runLayout(runDir).selection(g), seed: input.campaign.seed + g });
        indices = sel.indices;
        method = `D-optimal: ${sel.maxvol} by MaxVol, ${sel.filled} by extrapolation grade`;
      }
      if (nRandom > 0) {
        const taken = new Set(indices);
        const rest = Array.from({ length: pool.count }, (_, i) => i).filter((i) => !taken.has(i));
        const random = sampleWithoutReplacement(rest, input.n - indices.length, input.campaign.seed * 1009 + g);
        indices = [...indices, ...random];
        method = `${method ? `${method}; ` : ''}${random.length} at random from the pool (exploration.random_share ${share})`;
      }
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      // The pool's order: MD candidates (harvest order) first, then the teacher's queue. Said so.
      indices = Array.from({ length: input.n }, (_, i) => i);
      method = `the D-optimal selection failed (${err.cause instanceof Error ? err.cause.message.split('\n')[0]!.slice(0, 200) : err.message}), so the first ${input.n} in pool order`;
    }
  }
  const split = await control.splitDftPool({ runDir, generation: g, pool, indices });
  return { ...split, pool, method };
}

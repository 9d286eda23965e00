// The campaign's DFT validation set and the teacher's gate: pure, deterministic rules (workflow-safe).
//
// Validation structures are DFT-labelled like any other but never trained on: a share of every
// generation's DFT picks plus a few random candidates from each pool (generated, MD at each temperature,
// defects). Which ones is decided by a hash of the structure id and the campaign seed, so a replayed or
// retried workflow makes the same choice, and a structure's side never changes.
import type { ErrorMetrics } from './evaluation';

const fmix32 = (h: number): number => {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
};

/** A string hashed to a number in [0, 1) (two FNV-1a streams, murmur3-finalised): deterministic in the workflow sandbox. */
export function unitHash(s: string): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  return (fmix32(h1) * 2 ** 21 + (fmix32(h2 ^ h1) >>> 11)) / 2 ** 53;
}

/**
 * The ids among `ids` that go to validation: round(share x n) of them (at least one once n >= minPicks),
 * those with the smallest hash. The rest train.
 */
export function validationShare(ids: readonly string[], share: number, seed: number, minPicks = 4): string[] {
  if (share <= 0 || ids.length === 0) return [];
  let k = Math.round(share * ids.length);
  if (k === 0 && ids.length >= minPicks) k = 1;
  k = Math.min(k, ids.length - 1); // never the whole generation: something must train
  return [...ids]
    .map((id) => ({ id, u: unitHash(`validation:${seed}:${id}`) }))
    .sort((a, b) => a.u - b.u || (a.id < b.id ? -1 : 1))
    .slice(0, Math.max(0, k))
    .map((x) => x.id);
}

/** `perPool` candidates of each pool (not already chosen), by hash order: the random part of the set. */
export function poolSamples(pools: Record<string, readonly string[]>, perPool: number, seed: number, exclude: ReadonlySet<string> = new Set()): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [pool, ids] of Object.entries(pools)) {
    out[pool] = [...new Set(ids)]
      .filter((id) => !exclude.has(id))
      .map((id) => ({ id, u: unitHash(`pool:${seed}:${pool}:${id}`) }))
      .sort((a, b) => a.u - b.u || (a.id < b.id ? -1 : 1))
      .slice(0, perPool)
      .map((x) => x.id);
  }
  return out;
}

export interface TeacherGate {
  /** The weight teacher labels and surrogates get in the next fit (0: left out). */
  weight: number;
  /** Why, in one sentence, for the status and the report. */
  reason: string;
}

/**
 * Teacher labels train only while the teacher is more accurate than the student on DFT it was never
 * fitted to: a student already better than its teacher can only be pulled towards the teacher's errors
 * (measured: the bootstrapped committee's labels doubled the Al force error of a DFT-only fit).
 */
export function teacherGate(teacher: Pick<ErrorMetrics, 'forces_rmse_mev_a' | 'energy_rmse_mev_atom_offset'> | undefined, student: Pick<ErrorMetrics, 'forces_rmse_mev_a' | 'energy_rmse_mev_atom_offset'> | undefined, labelWeight: number): TeacherGate {
  if (!teacher) return { weight: labelWeight, reason: 'no validation score of the teacher yet: teacher.label_weight applies' };
  if (!student) return { weight: labelWeight, reason: 'no validation score of the ACE potential yet: teacher.label_weight applies' };
  const tf = teacher.forces_rmse_mev_a;
  const sf = student.forces_rmse_mev_a;
  if (tf < sf) return { weight: labelWeight, reason: `teacher forces ${tf.toFixed(1)} meV/Å beat the ACE potential's ${sf.toFixed(1)} on the validation set: its labels train at ${labelWeight}` };
  return { weight: 0, reason: `the ACE potential (${sf.toFixed(1)} meV/Å) is already more accurate than the teacher (${tf.toFixed(1)} meV/Å) on the validation set: teacher labels and surrogates left out` };
}

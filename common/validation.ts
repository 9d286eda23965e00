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

/** A pool's distinct ids in hash order (the seed and the pool's name in the hash): its random order, the same on a replay. */
function hashOrder(pool: string, ids: readonly string[], seed: number): string[] {
  return [...new Set(ids)]
    .map((id) => ({ id, u: unitHash(`pool:${seed}:${pool}:${id}`) }))
    .sort((a, b) => a.u - b.u || (a.id < b.id ? -1 : 1))
    .map((x) => x.id);
}

/** `perPool` candidates of each pool (not already chosen), by hash order: the random part of the set. */
export function poolSamples(pools: Record<string, readonly string[]>, perPool: number, seed: number, exclude: ReadonlySet<string> = new Set()): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [pool, ids] of Object.entries(pools)) {
    out[pool] = hashOrder(pool, ids, seed)
      .filter((id) => !exclude.has(id))
      .slice(0, perPool);
  }
  return out;
}

/**
 * As poolSamples, but within each pool the samples take turns between strata (the MD start kind: bulk,
 * sheared, vacancy), starting from a stratum that turns with the pool's place and with `turn` (the
 * generation): over the generations every pool draws from every stratum, instead of mostly from the
 * most numerous one. Measured: with 6 MD starts (one vacancy trajectory per temperature), hash order
 * alone gave the Si example's validation set 1 vacancy cell of 30 (runs/si-example-9), so the hand-over
 * could not see a potential that failed on vacancies (docs/evaluation.md).
 */
export function stratifiedSamples(pools: Record<string, readonly string[]>, stratumOf: (id: string) => string, perPool: number, seed: number, turn: number): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const names = Object.keys(pools).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  names.forEach((pool, place) => {
    const byStratum = new Map<string, string[]>();
    for (const id of hashOrder(pool, pools[pool]!, seed)) {
      const k = stratumOf(id);
      if (!byStratum.has(k)) byStratum.set(k, []);
      byStratum.get(k)!.push(id);
    }
    const strata = [...byStratum.keys()].sort();
    const first = strata.length ? (((place + turn) % strata.length) + strata.length) % strata.length : 0;
    const rotated = [...strata.slice(first), ...strata.slice(0, first)];
    const picks: string[] = [];
    for (let round = 0; picks.length < perPool; round++) {
      const row = rotated.map((k) => byStratum.get(k)![round]).filter((id): id is string => id !== undefined);
      if (!row.length) break;
      picks.push(...row.slice(0, perPool - picks.length));
    }
    out[pool] = picks;
  });
  return out;
}

/** Validation DFT calls still allowed: the set takes at most max_fraction of the campaign's DFT budget. */
export function validationRoom(maxFraction: number, dftTotal: number, validationUsed: number): number {
  return Math.max(0, Math.floor(maxFraction * dftTotal + 1e-9) - validationUsed);
}

/**
 * Round-robin over the pools until `limit` ids: every pool gets its first sample before any gets a
 * second, so a tight budget still covers each pool once.
 */
export function capSamples(samples: Record<string, readonly string[]>, limit: number): Record<string, string[]> {
  const out: Record<string, string[]> = Object.fromEntries(Object.keys(samples).map((k) => [k, []]));
  const pools = Object.keys(samples).sort();
  let left = Math.max(0, limit);
  for (let round = 0; left > 0; round++) {
    let took = false;
    for (const k of pools) {
      const id = samples[k]![round];
      if (id === undefined || left === 0) continue;
      out[k]!.push(id);
      left--;
      took = true;
    }
    if (!took) break;
  }
  return out;
}

type Score = Pick<ErrorMetrics, 'forces_rmse_mev_a' | 'energy_rmse_mev_atom_offset'>;

export interface TeacherVerdict {
  /** Whether the teacher's labels (and surrogates) keep training. */
  helps: boolean;
  /** Why, in one sentence, for the status and the report. */
  reason: string;
}

/**
 * The teacher earns its place only if the fit with its labels beats the fit without them on DFT neither
 * was trained on, in forces and in energy (after the offset). Either worse: the teacher's labels are left
 * out from then on (measured: the bootstrapped committee's labels doubled the energy error of a DFT-only
 * fit once the basis could use the DFT data, docs/evaluation.md).
 */
export function teacherVerdict(withTeacher: Score, dftOnly: Score, n: number): TeacherVerdict {
  const f = (s: Score) => `${s.forces_rmse_mev_a.toFixed(1)} meV/Å, ${s.energy_rmse_mev_atom_offset.toFixed(1)} meV/atom`;
  const figures = `on ${n} validation structures: with the teacher's labels ${f(withTeacher)}, DFT only ${f(dftOnly)}`;
  const helps = withTeacher.forces_rmse_mev_a < dftOnly.forces_rmse_mev_a && withTeacher.energy_rmse_mev_atom_offset < dftOnly.energy_rmse_mev_atom_offset;
  return helps
    ? { helps, reason: `the teacher's labels help ${figures}: they keep training` }
    : { helps, reason: `the teacher's labels do not help ${figures}: left out from now on (labels, surrogates, fine-tuning)` };
}

/** A generation's potential on the (same) validation set: one learning-curve point. */
export interface ScoredGeneration {
  generation: number;
  overall: Score;
}

/** What counts as noise between two scores on the same set: 5 % of the latest's error, at least 2 meV/Å and 0.5 meV/atom. */
export const BEST_MARGIN = { relative: 0.05, forcesMevA: 2, energyMevAtom: 0.5 };

/** Whether `earlier` is no worse than `latest` in forces and in energy beyond the noise, and clearly better in one. */
export function clearlyBetter(earlier: Score, latest: Score): boolean {
  const tolF = Math.max(BEST_MARGIN.relative * latest.forces_rmse_mev_a, BEST_MARGIN.forcesMevA);
  const tolE = Math.max(BEST_MARGIN.relative * latest.energy_rmse_mev_atom_offset, BEST_MARGIN.energyMevAtom);
  const dF = earlier.forces_rmse_mev_a - latest.forces_rmse_mev_a;
  const dE = earlier.energy_rmse_mev_atom_offset - latest.energy_rmse_mev_atom_offset;
  return dF <= tolF && dE <= tolE && (dF < -tolF || dE < -tolE);
}

/**
 * The generation the campaign goes on from and hands over: the latest, unless an earlier potential is
 * clearly better on the same validation set (no worse in forces or energy beyond the noise, better in one
 * beyond it); among several such, the one with the lowest sum of relative errors (force RMSE over the
 * best force RMSE plus energy RMSE after the offset over the best energy RMSE). A trade (better forces,
 * worse energy) keeps the latest. A refit that made the potential worse is then not built on (measured:
 * incremental refits raised the validation error generation after generation, docs/evaluation.md).
 */
export function bestGeneration(points: readonly ScoredGeneration[], latest: number): { generation: number; score: Record<number, number> } {
  const ok = points.filter((p) => Number.isFinite(p.overall.forces_rmse_mev_a) && Number.isFinite(p.overall.energy_rmse_mev_atom_offset));
  const last = ok.find((p) => p.generation === latest);
  if (!last || ok.length < 2) return { generation: latest, score: {} };
  const fMin = Math.max(1e-9, Math.min(...ok.map((p) => p.overall.forces_rmse_mev_a)));
  const eMin = Math.max(1e-9, Math.min(...ok.map((p) => p.overall.energy_rmse_mev_atom_offset)));
  const score = Object.fromEntries(ok.map((p) => [p.generation, p.overall.forces_rmse_mev_a / fMin + p.overall.energy_rmse_mev_atom_offset / eMin]));
  const better = ok.filter((p) => p.generation !== latest && clearlyBetter(p.overall, last.overall));
  if (!better.length) return { generation: latest, score };
  // The lowest score; among equals the latest generation.
  const best = better.sort((a, b) => score[a.generation]! - score[b.generation]! || b.generation - a.generation)[0]!;
  return { generation: best.generation, score };
}

/**
 * The report's accuracy lines for the potential handed over (an earlier generation's than the last fit
 * when that scored better): its score on the validation set, then Pacemaker's own split, named for what
 * it is (drawn from the training pool, so no accuracy figure).
 */
export function handOverLines(
  curve: { structures: number; points: readonly { generation: number; overall: Pick<ErrorMetrics, 'forces_rmse_mev_a' | 'energy_rmse_mev_atom_offset'> }[] } | undefined,
  generation: number,
  split?: { test_rmse_energy_mev_atom?: number; test_rmse_forces_mev_a?: number },
): string[] {
  const p = curve?.points.find((x) => x.generation === generation);
  const out = [
    p
      ? `Its accuracy on the validation set (${curve!.structures} DFT labels never trained on): ${p.overall.forces_rmse_mev_a.toFixed(1)} meV/Å, ${p.overall.energy_rmse_mev_atom_offset.toFixed(2)} meV/atom after the mean offset.`
      : 'Its accuracy was not measured here (no validation set): `autopipe evaluate` scores it on any labelled file.',
  ];
  const f = (x: number | undefined, d: number) => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(d));
  if (split?.test_rmse_forces_mev_a !== undefined || split?.test_rmse_energy_mev_atom !== undefined)
    out.push(`Pacemaker's split of its own training pool (not an accuracy figure): ${f(split.test_rmse_energy_mev_atom, 2)} meV/atom, ${f(split.test_rmse_forces_mev_a, 1)} meV/Å.`);
  return out;
}

// The tiered oracle's routing decision, as pure logic (safe in workflow code, unit-tested with fixed
// values). A structure the fast oracle judged goes one of five ways:
//   accept  uncertainty <= accept threshold: the MACE label is kept
//   dft     uncertainty >  DFT threshold (or infinite): the DFT oracle labels it
//   discard / queue   in between, by teacher.between (queue = kept for a later DFT selection)
//   reject  overlapping atoms: no engine can label it, and DFT would only waste budget on it
// The uncertainty is the committee's max force standard deviation (eV/Å); with a single model there is
// none, so the ACE extrapolation grade of the current potential (gamma) stands in for it; with neither (a
// single model before any ACE potential exists) a caller may accept every judged label ("none").
import { ApplicationFailure } from '@temporalio/common';
import { NonRetryableErrors } from './errors';
import { acceptDftProblem, describe } from './rules';

export type Route = 'accept' | 'dft' | 'discard' | 'queue' | 'reject';
export const allRoutes: Route[] = ['accept', 'dft', 'discard', 'queue', 'reject'];
export type UncertaintySource = 'committee' | 'ace_gamma' | 'none';

/** Flags that mean "infinite uncertainty"; only overlapping atoms also mean "unlabellable". */
export const UNLABELLABLE_FLAGS = ['overlapping_atoms'];

export interface RoutingPolicy {
  source: UncertaintySource;
  accept: number;
  dft: number;
  between: 'discard' | 'queue';
}

/** What the fast oracle said about one structure (the batch activity's item) plus an optional gamma. */
export interface Judged {
  /** Committee max force std, eV/Å; absent for a single model. */
  fStd?: number;
  /** Set when the oracle could not judge it: the uncertainty is infinite. */
  flag?: string;
  /** ACE extrapolation grade; null stands for infinity (JSON has none). */
  gamma?: number | null;
}

export interface TeacherRoutingSettings {
  accept_threshold: number;
  dft_threshold: number;
  gamma_accept_threshold: number;
  gamma_dft_threshold: number;
  between: 'discard' | 'queue';
}

function configError(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: NonRetryableErrors.InvalidConfig, nonRetryable: true, message });
}

function checkPair(accept: number, dft: number, names: [string, string]) {
  for (const [v, name] of [[accept, names[0]], [dft, names[1]]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw configError(`teacher.${name} must be a finite number >= 0 (got ${String(v)})`);
  }
  const p = acceptDftProblem(accept, dft, names);
  if (p) throw configError(`${describe(p, accept)}: lower the first or raise the second`);
}

/**
 * The policy for a teacher of `modelCount` models. A committee routes by its force spread; a single model
 * needs ACE extrapolation grades (one per structure), and the note says so for the campaign status.
 */
export function routingPolicy(
  t: TeacherRoutingSettings,
  modelCount: number,
  gammaCount: number | undefined,
  structureCount: number,
  opts: { withoutUncertainty?: 'accept' } = {},
): { policy: RoutingPolicy; note?: string } {
  if (modelCount >= 2) {
    checkPair(t.accept_threshold, t.dft_threshold, ['accept_threshold', 'dft_threshold']);
    return { policy: { source: 'committee', accept: t.accept_threshold, dft: t.dft_threshold, between: t.between } };
  }
  if (gammaCount === undefined && opts.withoutUncertainty === 'accept') {
    return {
      policy: { source: 'none', accept: 0, dft: 0, between: t.between },
      note: 'single fast-oracle model and no ACE potential yet: no uncertainty to route by; every label it could compute is kept',
    };
  }
  if (gammaCount === undefined) {
    throw configError(
      'a single fast-oracle model has no committee uncertainty, so routing needs ACE extrapolation grades (gamma) for ' +
        'these structures: list two or more files in teacher.models (`autopipe teacher bootstrap` trains a committee) ' +
        'or pass gamma from the current ACE potential',
    );
  }
  if (gammaCount !== structureCount) {
    throw ApplicationFailure.create({
      type: NonRetryableErrors.InvalidInput,
      nonRetryable: true,
      message: `gamma has ${gammaCount} values for ${structureCount} structures: give one extrapolation grade per structure, in order`,
    });
  }
  checkPair(t.gamma_accept_threshold, t.gamma_dft_threshold, ['gamma_accept_threshold', 'gamma_dft_threshold']);
  return {
    policy: { source: 'ace_gamma', accept: t.gamma_accept_threshold, dft: t.gamma_dft_threshold, between: t.between },
    note: 'single fast-oracle model: no committee uncertainty; routed by the ACE extrapolation grade (gamma)',
  };
}

/** The uncertainty a policy reads from one judged structure (Infinity when it cannot judge). */
export function uncertaintyOf(j: Judged, policy: RoutingPolicy): number {
  if (j.flag) return Infinity;
  if (policy.source === 'none') return 0;
  const u = policy.source === 'committee' ? j.fStd : j.gamma;
  return typeof u === 'number' && !Number.isNaN(u) ? u : Infinity;
}

export function route(j: Judged, policy: RoutingPolicy): Route {
  if (j.flag && UNLABELLABLE_FLAGS.includes(j.flag)) return 'reject';
  const u = uncertaintyOf(j, policy);
  if (u <= policy.accept) return 'accept';
  if (u > policy.dft) return 'dft';
  return policy.between;
}

export type RouteCounts = Record<Route, number>;

export function emptyCounts(): RouteCounts {
  return { accept: 0, dft: 0, discard: 0, queue: 0, reject: 0 };
}

/**
 * Cap the DFT-bound structures at `limit`, most uncertain first (ties: earlier index first); the rest are
 * queued so a later generation (or a larger budget) can still take them.
 */
export function capDft<T extends { u: number; index: number }>(candidates: T[], limit: number | undefined): { dft: T[]; deferred: T[] } {
  if (limit === undefined || candidates.length <= limit) return { dft: [...candidates], deferred: [] };
  const sorted = [...candidates].sort((a, b) => b.u - a.u || a.index - b.index);
  const dft = sorted.slice(0, Math.max(0, limit)).sort((a, b) => a.index - b.index);
  const keep = new Set(dft.map((d) => d.index));
  return { dft, deferred: candidates.filter((c) => !keep.has(c.index)) };
}

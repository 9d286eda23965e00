// Self-healing by diagnosis: read why pw.x failed, then change what addresses that cause. Pure functions
// (unit-tested in test/unit/dft-ladder.test.ts); qe.ts applies them to the attempt ledger (attempts.ts).
//
//   diagnosis    what the output shows                              remedy
//   sloshing     accuracy stagnates or oscillates                   lower mixing_beta, local-TF, deeper history;
//                                                                   fixed occupations: small smearing, last resort
//   slow         accuracy still falling when the steps ran out      twice the steps, restart from the density
//   cholesky     S matrix / Cholesky failure in the diagonaliser    david -> cg -> ppcg
//   bands        unconverged eigenvalues pile up, "too many bands"  20 % more bands, cg
//   timeout      pw.x ran past dft.timeout_minutes                  restart from the density
//   error        any other pw.x error                               cg and gentler mixing
//
// Only the smearing remedies change the physics; the label records them, and its key differs (qe.ts).
import type { DftSettings } from '../../common/campaign-schema';

export type DiagnosisKind = 'sloshing' | 'slow' | 'cholesky' | 'bands' | 'timeout' | 'error';

export interface Diagnosis {
  kind: DiagnosisKind;
  /** One line a user reads in the UI and the label's provenance. */
  detail: string;
  /** Kohn-Sham states pw.x used (from its output), for the "more bands" remedy. */
  bands?: number;
}

/** How one attempt drives the SCF. smearing/degauss are physics; everything else is numerics. */
export interface ScfSettings {
  mixing_beta: number;
  mixing_mode: 'plain' | 'local-TF';
  mixing_ndim: number;
  electron_maxstep: number;
  diagonalization: 'david' | 'cg' | 'ppcg';
  nbnd?: number;
  smearing: DftSettings['smearing'];
  degauss: number;
}

export interface Remedy {
  /** e.g. "beta-0.3-local-TF", "diag-cg", "smearing-mv-0.01": shown in the UI and the provenance. */
  name: string;
  settings: ScfSettings;
  restartFromDensity: boolean;
}

/** QE's own default history depth for Broyden mixing. */
const QE_MIXING_NDIM = 8;
/** The smearing switched on for fixed occupations as the last resort: Marzari-Vanderbilt, 0.01 Ry. */
export const FALLBACK_SMEARING = { smearing: 'mv' as const, degauss: 0.01 };

export function baseSettings(dft: DftSettings): ScfSettings {
  return {
    mixing_beta: dft.mixing_beta,
    mixing_mode: 'plain',
    mixing_ndim: QE_MIXING_NDIM,
    electron_maxstep: dft.electron_maxstep,
    diagonalization: 'david',
    smearing: dft.smearing,
    degauss: dft.degauss,
  };
}

// Only in an error message: the timing report at the end of every run names cdiaghg too.
const CHOLESKY = /problems computing cholesky|not positive definite|Error in routine\s+[cr]diag/i;
const TOO_MANY_BANDS = /too many bands are not converged/i;
const UNCONVERGED_EIGEN = /eigenvalues not converged/gi;

/** The SCF's estimated accuracy per iteration (Ry), in order. */
export function scfAccuracies(output: string): number[] {
  return [...output.matchAll(/estimated scf accuracy\s*<\s*([\d.eE+-]+)\s*Ry/g)].map((m) => Number(m[1]));
}

/** pw.x's error block ("Error in routine X (n): message"), if any. */
export function pwError(output: string): string | undefined {
  const m = output.match(/Error in routine\s+(\S+)\s*\((-?\d+)\):\s*\n?\s*(.*)/);
  return m ? `${m[1]}: ${m[3]!.trim()}` : undefined;
}

/**
 * Why an attempt failed, from pw.x's output (stdout; the CRASH file says the same). `timedOut`: the
 * activity stopped pw.x at dft.timeout_minutes.
 */
export function diagnose(output: string, opts: { timedOut?: boolean } = {}): Diagnosis {
  const bands = Number(output.match(/number of Kohn-Sham states\s*=\s*(\d+)/)?.[1]) || undefined;
  const err = pwError(output);
  if (CHOLESKY.test(output)) return { kind: 'cholesky', detail: `the diagonaliser failed (${err ?? 'S matrix not positive definite'})`, bands };
  if (TOO_MANY_BANDS.test(output)) return { kind: 'bands', detail: `too many bands are not converged (${bands ?? '?'} states)`, bands };
  if (opts.timedOut) return { kind: 'timeout', detail: 'pw.x ran past dft.timeout_minutes', bands };
  const acc = scfAccuracies(output);
  if (/convergence NOT achieved/.test(output) || (!err && acc.length > 0 && !/convergence has been achieved/.test(output))) {
    const unconverged = output.match(UNCONVERGED_EIGEN)?.length ?? 0;
    if (unconverged >= Math.max(5, acc.length / 2)) {
      return { kind: 'bands', detail: `eigenvalues not converged in ${unconverged} of ${acc.length} iterations`, bands };
    }
    return trend(acc, bands);
  }
  return { kind: 'error', detail: err ? `pw.x error in ${err}` : 'pw.x stopped without a converged SCF or an error message', bands };
}

/** Converging too slowly (more steps will do) or sloshing (the mixing must change). */
function trend(acc: number[], bands?: number): Diagnosis {
  const n = acc.length;
  if (n < 4) return { kind: 'slow', detail: `only ${n} SCF iterations were allowed`, bands };
  const first = Math.min(...acc.slice(0, Math.floor(n / 2)));
  const second = Math.min(...acc.slice(Math.floor(n / 2)));
  const last = acc[n - 1]!;
  // Still making progress: the second half reached at least 10x below the first half and the last
  // iterations are near that best value (no blow-up at the end).
  if (second < 0.1 * first && last < 10 * second) {
    return { kind: 'slow', detail: `accuracy still falling after ${n} iterations (${first.toExponential(1)} -> ${last.toExponential(1)} Ry)`, bands };
  }
  return { kind: 'sloshing', detail: `accuracy stagnates or oscillates over ${n} iterations (best ${Math.min(first, second).toExponential(1)} Ry, last ${last.toExponential(1)} Ry): charge sloshing`, bands };
}

const fmt = (x: number) => String(Number(x.toPrecision(3)));

/**
 * The settings of the next attempt after a genuine failure. `lastChance`: the next attempt is the last
 * one dft.max_retries allows, so fixed occupations get the smearing remedy now rather than never.
 * `base` is the first attempt's settings (the mixing ladder starts from them).
 */
export function remedy(s: ScfSettings, d: Diagnosis, opts: { lastChance: boolean; base: ScfSettings }): Remedy {
  const fixed = s.smearing === 'none';
  const longer = Math.max(2 * opts.base.electron_maxstep, 100);
  switch (d.kind) {
    case 'cholesky': {
      const next = s.diagonalization === 'david' ? 'cg' : s.diagonalization === 'cg' ? 'ppcg' : 'cg';
      return { name: `diag-${next}`, settings: { ...s, diagonalization: next }, restartFromDensity: false };
    }
    case 'bands': {
      const nbnd = Math.ceil(1.2 * (s.nbnd ?? d.bands ?? 8)) + 2;
      return { name: `nbnd-${nbnd}-cg`, settings: { ...s, nbnd, diagonalization: s.diagonalization === 'david' ? 'cg' : s.diagonalization }, restartFromDensity: false };
    }
    case 'slow':
      return { name: `steps-${2 * s.electron_maxstep}`, settings: { ...s, electron_maxstep: 2 * s.electron_maxstep }, restartFromDensity: true };
    case 'timeout':
      return { name: 'restart', settings: s, restartFromDensity: true };
    case 'error': {
      const settings: ScfSettings = { ...s, diagonalization: s.diagonalization === 'david' ? 'cg' : s.diagonalization, mixing_beta: Math.min(0.3, s.mixing_beta), mixing_mode: 'local-TF' };
      return { name: `cg-beta-${fmt(settings.mixing_beta)}`, settings, restartFromDensity: false };
    }
    case 'sloshing':
      return sloshing(s, opts.lastChance && fixed, longer);
  }
}

function sloshing(s: ScfSettings, smearNow: boolean, longer: number): Remedy {
  let m: Remedy;
  if (s.mixing_mode === 'plain' || s.mixing_beta > 0.3) {
    const settings: ScfSettings = { ...s, mixing_beta: Math.min(0.3, s.mixing_beta), mixing_mode: 'local-TF', electron_maxstep: Math.max(s.electron_maxstep, longer) };
    m = { name: `beta-${fmt(settings.mixing_beta)}-local-TF`, settings, restartFromDensity: true };
  } else if (s.mixing_beta > 0.1) {
    m = { name: 'beta-0.1-ndim-12', settings: { ...s, mixing_beta: 0.1, mixing_ndim: 12, electron_maxstep: Math.max(s.electron_maxstep, 2 * longer) }, restartFromDensity: true };
  } else if (s.smearing === 'none') {
    smearNow = true;
    m = { name: '', settings: s, restartFromDensity: true };
  } else if (s.mixing_beta > 0.05) {
    m = { name: 'beta-0.05', settings: { ...s, mixing_beta: 0.05 }, restartFromDensity: true };
  } else {
    // Mixing exhausted on a smeared system: a larger smearing is the only lever left (physics).
    const settings = { ...s, degauss: 2 * s.degauss };
    return { name: `degauss-${fmt(settings.degauss)}`, settings, restartFromDensity: true };
  }
  if (smearNow && s.smearing === 'none') {
    const settings: ScfSettings = { ...m.settings, ...FALLBACK_SMEARING };
    const name = `smearing-${FALLBACK_SMEARING.smearing}-${FALLBACK_SMEARING.degauss}`;
    return { name: m.name ? `${m.name}+${name}` : name, settings, restartFromDensity: true };
  }
  return m;
}

/** Physics settings an attempt changed relative to the requested ones (empty: none). */
export function physicsChanges(dft: DftSettings, s: ScfSettings): Record<string, { from: unknown; to: unknown }> {
  const out: Record<string, { from: unknown; to: unknown }> = {};
  if (s.smearing !== dft.smearing) out.smearing = { from: dft.smearing, to: s.smearing };
  if (s.smearing !== 'none' && (dft.smearing === 'none' || s.degauss !== dft.degauss)) {
    out.degauss = { from: dft.smearing === 'none' ? null : dft.degauss, to: s.degauss };
  }
  return out;
}

/** pw.x namelists for one attempt. Units are QE's (Ry). */
export function pwInputData(dft: DftSettings & { ecutwfc: number; ecutrho: number }, s: ScfSettings, restart: boolean) {
  const system: Record<string, string | number | boolean> = { ecutwfc: dft.ecutwfc, ecutrho: dft.ecutrho };
  if (s.smearing === 'none') system.occupations = 'fixed';
  else Object.assign(system, { occupations: 'smearing', smearing: s.smearing, degauss: s.degauss });
  if (s.nbnd !== undefined) system.nbnd = s.nbnd;
  if (dft.spin) {
    system.nspin = 2;
    for (const [el, m] of Object.entries(dft.starting_magnetization)) system[`starting_magnetization(${el})`] = m;
  }
  const electrons: Record<string, string | number | boolean> = {
    mixing_beta: s.mixing_beta,
    mixing_mode: s.mixing_mode,
    electron_maxstep: s.electron_maxstep,
    conv_thr: dft.conv_thr,
    diagonalization: s.diagonalization,
  };
  if (s.mixing_ndim !== QE_MIXING_NDIM) electrons.mixing_ndim = s.mixing_ndim;
  if (restart) electrons.startingpot = 'file';
  return {
    control: { calculation: 'scf', tprnfor: true, tstress: true, disk_io: 'low', outdir: '../scratch', prefix: 'pwscf' },
    system,
    electrons,
  };
}

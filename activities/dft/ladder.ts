// The self-healing ladder: Temporal attempt n (1-based) runs rung n-1. Each rung changes how the SCF
// is driven, never the physics, except the last rung's larger smearing, which provenance records.
import type { DftSettings } from '../../common/campaign-schema';

export interface Rung {
  name: string;
  electrons: Record<string, string | number | boolean>;
  degaussFactor: number;
  restartFromDensity: boolean;
}

export function ladderRung(dft: DftSettings, attempt: number): Rung {
  const base = { mixing_beta: dft.mixing_beta, electron_maxstep: dft.electron_maxstep, conv_thr: dft.conv_thr };
  const longer = Math.max(2 * dft.electron_maxstep, 100);
  const rungs: Rung[] = [
    { name: 'default', electrons: { ...base, mixing_mode: 'plain', diagonalization: 'david' }, degaussFactor: 1, restartFromDensity: false },
    { name: 'beta-0.3-local-TF', electrons: { ...base, mixing_beta: Math.min(0.3, dft.mixing_beta), mixing_mode: 'local-TF', electron_maxstep: longer, diagonalization: 'david' }, degaussFactor: 1, restartFromDensity: true },
    { name: 'beta-0.1-cg', electrons: { ...base, mixing_beta: Math.min(0.1, dft.mixing_beta), mixing_mode: 'local-TF', electron_maxstep: 2 * longer, diagonalization: 'cg' }, degaussFactor: 1, restartFromDensity: true },
    { name: 'beta-0.05-cg-smear-x2', electrons: { ...base, mixing_beta: Math.min(0.05, dft.mixing_beta), mixing_mode: 'local-TF', electron_maxstep: 3 * longer, diagonalization: 'cg', mixing_ndim: 12 }, degaussFactor: 2, restartFromDensity: true },
  ];
  return rungs[Math.min(Math.max(attempt - 1, 0), rungs.length - 1)]!;
}

/** pw.x namelists for one attempt. Units are QE's (Ry). */
export function pwInputData(dft: DftSettings & { ecutwfc: number; ecutrho: number }, rung: Rung, restart: boolean) {
  const system: Record<string, string | number | boolean> = { ecutwfc: dft.ecutwfc, ecutrho: dft.ecutrho };
  if (dft.smearing === 'none') system.occupations = 'fixed';
  else Object.assign(system, { occupations: 'smearing', smearing: dft.smearing, degauss: dft.degauss * rung.degaussFactor });
  if (dft.spin) {
    system.nspin = 2;
    for (const [el, m] of Object.entries(dft.starting_magnetization)) system[`starting_magnetization(${el})`] = m;
  }
  return {
    control: { calculation: 'scf', tprnfor: true, tstress: true, disk_io: 'low', outdir: '../scratch', prefix: 'pwscf' },
    system,
    electrons: { ...rung.electrons, ...(restart ? { startingpot: 'file' } : {}) },
  };
}

// Healing by diagnosis, on real pw.x outputs (test/fixtures/pw-outputs, made by pw.x 6.7): what each
// failure is diagnosed as, and which remedy each diagnosis gets, in order, up to the last resort.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DftSchema } from '../../common/campaign-schema';
import { baseSettings, diagnose, physicsChanges, pwInputData, remedy, type Diagnosis, type ScfSettings } from '../../activities/dft/ladder';
import { dftLabelKey } from '../../activities/dft/qe';

const out = (name: string) => readFileSync(`test/fixtures/pw-outputs/${name}`, 'utf8');
const fixedDft = DftSchema.parse({ pseudopotentials: { Si: 'Si.pz-vbc.UPF' }, smearing: 'none', kspacing: 0.25 });
const cholesky = `
 %%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%
     Error in routine cdiaghg (41):
     S matrix not positive definite
 %%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%`;

describe('diagnosis of real pw.x failures', () => {
  it('rattled Si-8 at Gamma with fixed occupations: charge sloshing (100 iterations, no progress)', () => {
    const d = diagnose(out('si8-gamma-fixed-sloshing.pwo'));
    expect(d.kind).toBe('sloshing');
    expect(d.detail).toMatch(/over 100 iterations/);
    expect(d.bands).toBe(16);
  });

  it('an SCF still converging when its 7 steps ran out: slow', () => {
    expect(diagnose(out('si8-maxstep-7-slow.pwo')).kind).toBe('slow');
  });

  it('a Cholesky failure in the diagonaliser, and an unknown pw.x error', () => {
    expect(diagnose(cholesky)).toMatchObject({ kind: 'cholesky', detail: expect.stringContaining('cdiaghg: S matrix not positive definite') });
    expect(diagnose('     Error in routine readpp (1):\n     file not found\n')).toMatchObject({ kind: 'error', detail: 'pw.x error in readpp: file not found' });
    expect(diagnose('', { timedOut: true }).kind).toBe('timeout');
  });
});

describe('remedies', () => {
  const base = baseSettings(fixedDft);
  const sloshing: Diagnosis = { kind: 'sloshing', detail: '' };

  it('sloshing under fixed occupations: lower mixing, then local-TF history, then smearing as the last resort', () => {
    const steps: string[] = [];
    let s: ScfSettings = base;
    for (let failures = 1; failures <= fixedDft.max_retries; failures++) {
      const r = remedy(s, sloshing, { lastChance: failures === fixedDft.max_retries, base });
      steps.push(r.name);
      s = r.settings;
    }
    expect(steps).toEqual(['beta-0.3-local-TF', 'beta-0.1-ndim-12', 'smearing-mv-0.01']);
    expect(s).toMatchObject({ mixing_beta: 0.1, mixing_mode: 'local-TF', mixing_ndim: 12, smearing: 'mv', degauss: 0.01 });
    expect(physicsChanges(fixedDft, s)).toEqual({ smearing: { from: 'none', to: 'mv' }, degauss: { from: null, to: 0.01 } });
  });

  it('with one retry only, that retry already gets the smearing (with the first mixing remedy)', () => {
    expect(remedy(base, sloshing, { lastChance: true, base }).name).toBe('beta-0.3-local-TF+smearing-mv-0.01');
  });

  it('smeared systems never lose their occupations: mixing first, a doubled smearing only when mixing is exhausted', () => {
    const mv = baseSettings(DftSchema.parse({ smearing: 'mv', degauss: 0.02 }));
    const names: string[] = [];
    let s = mv;
    for (let i = 0; i < 4; i++) {
      const r = remedy(s, sloshing, { lastChance: i === 3, base: mv });
      names.push(r.name);
      s = r.settings;
    }
    expect(names).toEqual(['beta-0.3-local-TF', 'beta-0.1-ndim-12', 'beta-0.05', 'degauss-0.04']);
  });

  it('Cholesky: Davidson -> cg -> ppcg, without touching the physics or the mixing', () => {
    const d: Diagnosis = { kind: 'cholesky', detail: '' };
    const cg = remedy(base, d, { lastChance: false, base });
    expect(cg).toMatchObject({ name: 'diag-cg', settings: { ...base, diagonalization: 'cg' }, restartFromDensity: false });
    expect(remedy(cg.settings, d, { lastChance: true, base }).name).toBe('diag-ppcg');
    expect(physicsChanges(fixedDft, cg.settings)).toEqual({});
  });

  it('too few bands: 20 % more (plus 2) and cg; a slow SCF gets twice the steps from its density', () => {
    expect(remedy(base, { kind: 'bands', detail: '', bands: 16 }, { lastChance: false, base })).toMatchObject({ name: 'nbnd-22-cg', settings: { nbnd: 22, diagonalization: 'cg' } });
    expect(remedy(base, { kind: 'slow', detail: '' }, { lastChance: true, base })).toMatchObject({ name: 'steps-200', settings: { electron_maxstep: 200 }, restartFromDensity: true });
  });

  it('pw.x namelists: fixed occupations vs the fallback smearing, extra bands, restart', () => {
    const dft = { ...fixedDft, ecutwfc: 16, ecutrho: 64 };
    expect(pwInputData(dft, base, false).system).toEqual({ ecutwfc: 16, ecutrho: 64, occupations: 'fixed' });
    const healed = { ...base, smearing: 'mv' as const, degauss: 0.01, nbnd: 22, mixing_ndim: 12 };
    const nl = pwInputData(dft, healed, true);
    expect(nl.system).toEqual({ ecutwfc: 16, ecutrho: 64, occupations: 'smearing', smearing: 'mv', degauss: 0.01, nbnd: 22 });
    expect(nl.electrons).toMatchObject({ mixing_ndim: 12, startingpot: 'file', diagonalization: 'david' });
  });

  it('label keys: operational settings (retries, command, the new train_physics_changed) never change them', () => {
    const k = dftLabelKey('s1', fixedDft);
    expect(dftLabelKey('s1', { ...fixedDft, max_retries: 9, command: 'mpirun pw.x', train_physics_changed: false, timeout_minutes: 5 })).toBe(k);
    expect(dftLabelKey('s1', { ...fixedDft, smearing: 'mv', degauss: 0.01 })).not.toBe(k);
  });
});

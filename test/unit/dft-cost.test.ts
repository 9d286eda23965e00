// The cost guard (activities/dft/cost.ts) against pw.x itself: the inputs in test/fixtures/pw-inputs were
// written by ASE (write_espresso_in, kspacing_to_grid) and run through pw.x 6.x, which printed the FFT
// dimensions, electrons and Kohn-Sham states asserted here (`pw.x -in si8.pwi | grep -E 'FFT dim|states'`).
// Then the inputs that can only exhaust a machine are refused with their numbers and the limit.
import { ApplicationFailure } from '@temporalio/common';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DftSchema } from '../../common/campaign-schema';
import { checkPwInput, estimateDftCost, kptsFromSpacing, parsePwInput } from '../../activities/dft/cost';
import { valenceElectrons } from '../../activities/dft/pseudopotentials';
import { projectRoot } from '../../host/paths';

const fixture = (f: string) => path.join(projectRoot, 'test', 'fixtures', 'pw-inputs', f);
const dft = DftSchema.parse({});
const valence = { Si: valenceElectrons('/usr/share/espresso/pseudo/Si.pz-vbc.UPF')!, Al: valenceElectrons('/usr/share/espresso/pseudo/Al.pz-vbc.UPF')! };

function estimate(file: string) {
  const p = parsePwInput(readFileSync(fixture(file), 'utf8'));
  return { p, cost: estimateDftCost({ ...p, ecutrho: p.ecutrho!, valence }) };
}

function refusal(text: string): ApplicationFailure {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-cost-'));
  const file = path.join(dir, 'espresso.pwi');
  writeFileSync(file, text);
  try {
    checkPwInput(file, dft, 'structure x');
  } catch (err) {
    return err as ApplicationFailure;
  }
  throw new Error('not refused');
}

describe('DFT cost estimate', () => {
  it.each([
    ['si2.pwi', [24, 24, 24], 8, 4, [6, 6, 6], 0.055],
    ['si8.pwi', [30, 30, 30], 32, 16, [4, 4, 4], 0.055],
    ['si64.pwi', [60, 60, 60], 256, 128, [1, 1, 1], 0.1],
    ['al4.pwi', [24, 24, 24], 12, 10, [5, 5, 5], 0.05],
  ])('%s: FFT grid, electrons and bands as pw.x prints them; k-grid as ASE writes it', (file, fft, electrons, bands, kpts, kspacing) => {
    const { p, cost } = estimate(file);
    expect(cost.fftGrid).toEqual(fft);
    expect(cost.electrons).toBe(electrons);
    expect(cost.bands).toBe(bands);
    expect(p.kpts).toEqual(kpts);
    expect(kptsFromSpacing(p.cell, kspacing)).toEqual(kpts);
    expect(checkPwInput(fixture(file), dft, file).atoms).toBe(p.symbols.length);
  });

  it('refuses kspacing 0.0001 (a 1842^3 k-grid) with the numbers and the limit', () => {
    const text = readFileSync(fixture('si8.pwi'), 'utf8').replace(/K_POINTS automatic\n.*\n/, 'K_POINTS automatic\n1842 1842 1842  0 0 0\n');
    const err = refusal(text);
    expect(err.type).toBe('TooExpensive');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain('a 1842x1842x1842 k-point grid (6.25e+9 points) exceeds dft.limits.max_kpoints (20000): raise dft.kspacing');
  });

  it('refuses one atom in a 1000 Å cell (FFT grid and memory)', () => {
    const text = readFileSync(fixture('si2.pwi'), 'utf8')
      .replace(/CELL_PARAMETERS angstrom\n(.*\n){3}/, 'CELL_PARAMETERS angstrom\n1000 0 0\n0 1000 0\n0 0 1000\n')
      .replace(/ATOMIC_POSITIONS angstrom\n(.*\n)+/, 'ATOMIC_POSITIONS angstrom\nSi 0 0 0\n')
      .replace(/K_POINTS automatic\n.*\n/, 'K_POINTS automatic\n1 1 1  0 0 0\n');
    const err = refusal(text);
    expect(err.message).toMatch(/the dense FFT grid 5400x5400x5400 \(1\.57e\+11 points, from the cell and ecutrho\) exceeds dft\.limits\.max_fft_points \(1\.00e\+8\)/);
    expect(err.message).toMatch(/pw\.x would need about \d+ GB \(1 atoms, 4 electrons/);
  });

  it('refuses 201,840 atoms', () => {
    const positions = Array.from({ length: 201_840 }, (_, i) => `Si ${(i % 58) * 2.35} ${(Math.floor(i / 58) % 58) * 2.35} ${Math.floor(i / 3364) * 2.35}`).join('\n');
    const text = readFileSync(fixture('si2.pwi'), 'utf8')
      .replace(/CELL_PARAMETERS angstrom\n(.*\n){3}/, 'CELL_PARAMETERS angstrom\n136.3 0 0\n0 136.3 0\n0 0 141\n')
      .replace(/ATOMIC_POSITIONS angstrom\n(.*\n)+/, `ATOMIC_POSITIONS angstrom\n${positions}\n`)
      .replace(/K_POINTS automatic\n.*\n/, 'K_POINTS automatic\n1 1 1  0 0 0\n');
    const err = refusal(text);
    expect(err.message).toContain('structure x: 201840 atoms, more than dft.limits.max_atoms (1000)');
    expect(err.message).toContain('nothing was started');
  });

  it('refuses a pseudopotential outside pseudo_dir', () => {
    const text = readFileSync(fixture('si2.pwi'), 'utf8').replace('Si.pz-vbc.UPF', '../../../../etc/passwd');
    const err = refusal(text);
    expect(err.type).toBe('InvalidConfig');
    expect(err.message).toBe('dft.pseudopotentials.Si: "../../../../etc/passwd" must be a file name inside dft.pseudo_dir (/usr/share/espresso/pseudo), not a path');
  });
});

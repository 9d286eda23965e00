// `autopipe evaluate` on real tools: a Pacemaker fit to EMT-labelled Cu whose energies carry a constant
// -3 eV/atom (so the fitted reference energies are far from zero), evaluated through the CLI and checked
// against an independent computation with pyace's calculator on the .yace and numpy.
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fitAce, type FitResult } from '../activities/ace/fit';
import { projectRoot } from '../host/paths';
import { py, pyJson } from './helpers/python';
import { cuTraining, emtDataset, tempDir } from './fixtures/training/data';

const cli = path.join(projectRoot, 'bin', 'autopipe.mjs');
const SHIFT = -3.0; // eV/atom added to every label: physics unchanged, energy zero far from 0
let dir: string;
let fit: FitResult;
let data: string;

/** Shift the energies of a dataset/extxyz by SHIFT per atom and tag config types; returns the new path. */
async function shifted(src: string, out: string, configType: string): Promise<string> {
  await py(`
import sys, numpy as np, pandas as pd
from ase.io import read, write
from ase.calculators.singlepoint import SinglePointCalculator
src, out, ct, shift = ${JSON.stringify(src)}, ${JSON.stringify(out)}, ${JSON.stringify(configType)}, ${SHIFT}
if src.endswith('.pckl.gzip'):
    df = pd.read_pickle(src, compression='gzip')
    df['energy'] = df['energy'] + shift * df['ase_atoms'].map(len)
    df['energy_corrected'] = df['energy']
    df.to_pickle(out, compression='gzip', protocol=4)
else:
    frames = []
    for a in read(src, ':'):
        r = a.calc.results
        b = a.copy(); b.calc = SinglePointCalculator(b, energy=r['energy'] + shift * len(a), forces=r['forces'], stress=r['stress'])
        b.info['config_type'] = ct
        frames.append(b)
    write(out, frames, format='extxyz')
print('ok')`);
  return out;
}

beforeAll(async () => {
  dir = tempDir('evaluate');
  const [train] = await Promise.all([
    emtDataset(dir, 'train', { count: 30, seed: 41 }),
    emtDataset(dir, 'near', { count: 6, seed: 42, extxyz: true }),
    emtDataset(dir, 'wide', { count: 4, seed: 43, kind: 'wide', extxyz: true }),
  ]);
  const trainShifted = await shifted(train, path.join(dir, 'train-shifted.pckl.gzip'), 'train');
  const a = await shifted(path.join(dir, 'near.extxyz'), path.join(dir, 'near-shifted.extxyz'), 'near');
  const b = await shifted(path.join(dir, 'wide.extxyz'), path.join(dir, 'wide-shifted.extxyz'), 'wide');
  data = path.join(dir, 'test.extxyz');
  await py(`open(${JSON.stringify(data)}, 'w').write(open(${JSON.stringify(a)}).read() + open(${JSON.stringify(b)}).read()); print('ok')`);
  // Reference energies fitted by Pacemaker ("auto"), as a campaign's generation 0 does.
  fit = await fitAce({ outDir: path.join(dir, 'fit'), datasetFile: trainShifted, elements: ['Cu'], training: cuTraining({ reference_energies: undefined, test_size: 0 }), seed: 7, activeSet: false });
});

describe('autopipe evaluate', () => {
  it('reports what an independent pyace + numpy computation gives, by config type, on the absolute energy scale', async () => {
    const r = await execa(process.execPath, [cli, 'evaluate', fit.potentialYaml, data, '--json', '--results', path.join(dir, 'rows.json'), '--plot', path.join(dir, 'plots')], { cwd: projectRoot });
    const out = JSON.parse(r.stdout);
    expect(out.kind).toBe('ace');
    expect(out.energyScale).toBe('absolute');
    expect(out.referenceEnergies.Cu).toBeLessThan(-2.5); // Pacemaker's fitted reference, near the -3 eV shift
    expect(out.structures).toBe(10);
    expect(Object.keys(out.by_group).sort()).toEqual(['near', 'wide']);
    expect(out.by_group.near.n_structures).toBe(6);

    // Independent: the .yace through pyace's calculator, the metadata's reference energies added by hand.
    const ref = await pyJson<{ e: number; eoff: number; f: number; fnear: number; s: number }>(`
import json, yaml, numpy as np
from ase.io import read
from pyace import PyACECalculator
meta = json.loads(yaml.safe_load(open(${JSON.stringify(fit.potentialYaml)}))['metadata']['reference_energy'])
calc = PyACECalculator(${JSON.stringify(fit.yace)})
de, dfs, dfn, ds = [], [], [], []
for a in read(${JSON.stringify(data)}, ':'):
    e, f, s = a.get_potential_energy(), a.get_forces(), a.get_stress()
    b = a.copy(); b.calc = calc
    pe = b.get_potential_energy() + len(a) * meta['Cu'] - meta.get('shift', 0) * len(a)
    de.append((pe - e) / len(a)); dfs.append((b.get_forces() - f).ravel()); ds.append(b.get_stress() - s)
    if a.info['config_type'] == 'near': dfn.append((b.get_forces() - f).ravel())
de = np.array(de); f = np.concatenate(dfs)
print(json.dumps({'e': float(np.sqrt(np.mean(de**2)) * 1000), 'eoff': float(np.sqrt(np.mean((de - de.mean())**2)) * 1000),
  'f': float(np.sqrt(np.mean(f**2)) * 1000), 'fnear': float(np.sqrt(np.mean(np.concatenate(dfn)**2)) * 1000),
  's': float(np.sqrt(np.mean(np.concatenate(ds)**2)) * 160.21766208)}))`);
    expect(out.overall.energy_rmse_mev_atom).toBeCloseTo(ref.e, 4);
    expect(out.overall.energy_rmse_mev_atom_offset).toBeCloseTo(ref.eoff, 4);
    expect(out.overall.forces_rmse_mev_a).toBeCloseTo(ref.f, 4);
    expect(out.by_group.near.forces_rmse_mev_a).toBeCloseTo(ref.fnear, 4);
    expect(out.overall.stress_rmse_gpa).toBeCloseTo(ref.s, 4);
    // The absolute scale is restored: without the reference energies the error would be ~3000 meV/atom.
    expect(out.overall.energy_rmse_mev_atom).toBeLessThan(100);

    const rows = JSON.parse(readFileSync(path.join(dir, 'rows.json'), 'utf8'));
    expect(rows.structures).toHaveLength(10);
    for (const png of ['energy.png', 'forces.png', 'stress.png']) expect(existsSync(path.join(dir, 'plots', png))).toBe(true);
  });

  it('lists a structure the potential cannot evaluate instead of failing, and refuses pickles with a clear error', async () => {
    const mixed = path.join(dir, 'mixed.extxyz');
    await py(`
from ase.io import read, write
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
import numpy as np
fr = read(${JSON.stringify(data)}, ':')[:2]
al = bulk('Al', 'fcc', a=4.05, cubic=True)
al.calc = SinglePointCalculator(al, energy=-10.0, forces=np.zeros((4, 3)))
al.info['config_type'] = 'alien'
write(${JSON.stringify(mixed)}, fr + [al], format='extxyz'); print('ok')`);
    const r = await execa(process.execPath, [cli, 'evaluate', fit.potentialYaml, mixed], { cwd: projectRoot });
    expect(r.stdout).toMatch(/3 structures, 2 evaluated, 1 not evaluable/);
    expect(r.stdout).toMatch(/not evaluable: .*alien.*not in the potential/);

    const bad = await execa(process.execPath, [cli, 'evaluate', fit.potentialYaml, path.join(dir, 'train.pckl.gzip')], { cwd: projectRoot, reject: false });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/pickled DataFrames are code, not data/);
  });

  it('scores SevenNet-0 (its own e3nn 0.5 overlay) on DFT it never saw: forces and stress on DFT\'s scale, energies only after an offset', async () => {
    // The committed Si PBE test set (pw.x through ASE, bench/testsets/si-pbe.json): a foundation model trained
    // on PBE data gets the forces roughly right; wrong units or a flipped stress sign would be off by far more.
    const r = await execa(process.execPath, [cli, 'evaluate', 'sevennet', path.join(projectRoot, 'bench', 'testsets', 'si-pbe.extxyz'), '--json'], { cwd: projectRoot });
    const out = JSON.parse(r.stdout);
    expect(out.kind).toBe('sevennet');
    expect(out.energyScale).toBe('relative');
    expect(out.evaluated).toBe(40);
    const all = out.overall;
    expect(all.forces_rmse_mev_a).toBeGreaterThan(50);
    expect(all.forces_rmse_mev_a).toBeLessThan(450); // |F| of the reference: 871 meV/Å rms
    expect(all.energy_rmse_mev_atom_offset).toBeLessThan(60);
    expect(all.stress_rmse_gpa).toBeLessThan(1.5);
  });
});

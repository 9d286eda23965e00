// Bad-input catalogue, part 2: files that are only understood once Python reads them (ASE, pandas),
// still refused before any DFT, fit or server: partial occupancy, unknown species, cells whose DFT would
// exhaust the machine, and the security case: a .pckl.gzip whose pickle runs `touch MARKER` is refused
// by `dataset info` and `dataset import`, and MARKER is never created (gamma, select and train: the
// tools tier, test/bad-input-server.test.ts; every reader: test/python/test_safe_pickle.py).
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { campaign, checkBadInput, extxyz, PARTIAL_CIF, sandbox, snapshot, type BadInput } from '../helpers/bad-input';
import { py } from '../helpers/python';

const box = sandbox('autopipe-catalogue-files');
afterAll(() => rmSync(box.dir, { recursive: true, force: true }));

const yaml = (name: string, over: Record<string, unknown> = {}) => box.file(name, YAML.stringify(campaign(over)));
const offline = { TEMPORAL_ADDRESS: '127.0.0.1:1' };
const run = box.at('run');
const marker = box.at('MARKER');

const si2 = box.file('si2.extxyz', extxyz([[0, 2.715, 2.715], [2.715, 0, 2.715], [2.715, 2.715, 0]], [['Si', 0, 0, 0], ['Si', 1.3575, 1.3575, 1.3575]]));
const lonely = box.file('lonely.extxyz', extxyz([[1000, 0, 0], [0, 1000, 0], [0, 0, 1000]], [['Si', 0, 0, 0]]));
const ge = box.file('ge.extxyz', extxyz([[0, 2.83, 2.83], [2.83, 0, 2.83], [2.83, 2.83, 0]], [['Ge', 0, 0, 0], ['Ge', 1.415, 1.415, 1.415]]));
const nan = box.file('nan.extxyz', extxyz([[0, 2.715, 2.715], [2.715, 0, 2.715], [2.715, 2.715, 0]], [['Si', 0, 0, 0], ['Si', NaN, 1.3575, 1.3575]]));
const overlap = box.file('overlap.extxyz', extxyz([[0, 2.715, 2.715], [2.715, 0, 2.715], [2.715, 2.715, 0]], [['Si', 0, 0, 0], ['Si', 0.01, 0, 0]]));
const partial = box.file('partial.cif', PARTIAL_CIF);
const garbage = box.file('garbage.xyz', 'this is not a structure file\n');
// 1000 Si atoms on a simple cubic grid 2.5 Å apart: physical, just too big for the campaign's DFT.
const grid: [string, number, number, number][] = [];
for (let i = 0; i < 1000; i++) grid.push(['Si', (i % 10) * 2.5, (Math.floor(i / 10) % 10) * 2.5, Math.floor(i / 100) * 2.5]);
const big = box.file('big.extxyz', extxyz([[25, 0, 0], [0, 25, 0], [0, 0, 25]], grid));

beforeAll(async () => {
  // The malicious dataset (a real Pacemaker-shaped DataFrame with one cell whose pickle runs a command),
  // a junk .pckl.gzip, and a run store with two structures (so "the store is unchanged" means something).
  await py(`
import gzip, os, pickle
import numpy as np, pandas as pd
from ase.build import bulk
from activities.store.commands import insert
class RunsCommand:
    def __reduce__(self):
        return (os.system, (${JSON.stringify(`touch ${marker}`)},))
a = bulk('Si', 'diamond', a=5.43)
df = pd.DataFrame({'name': ['a'], 'ase_atoms': [a], 'energy': [-1.0], 'forces': [np.zeros((2, 3))], 'payload': [RunsCommand()]})
with gzip.open(${JSON.stringify(box.at('evil.pckl.gzip'))}, 'wb') as fh:
    pickle.dump(df, fh, protocol=4)
with gzip.open(${JSON.stringify(box.at('junk.pckl.gzip'))}, 'wb') as fh:
    fh.write(b'not a pickle')
os.makedirs(${JSON.stringify(run)}, exist_ok=True)
insert({'store': ${JSON.stringify(path.join(run, 'store.sqlite'))}, 'file': ${JSON.stringify(si2)}, 'source': 'initial_random', 'generation': 0})
print('ok')`);
}, 120_000);

const evil = box.at('evil.pckl.gzip');
yaml('label.yaml');
const unsafe = [`${evil}: refused to load posix.system`, 'Nothing from it was executed. Re-create the dataset from a source you trust'];

const cases: BadInput[] = [
  // --- the security hole: a dataset file must never run code
  { name: 'dataset info: a pickle that runs a command', argv: ['dataset', 'info', evil], exit: 1, says: ['autopipe dataset info: UnsafeInput:', ...unsafe], notCreated: [marker] },
  { name: 'dataset import: a pickle that runs a command', argv: ['dataset', 'import', evil, '--run-dir', run], exit: 1, says: ['autopipe dataset import: UnsafeInput:', ...unsafe], notCreated: [marker] },
  { name: 'gamma: a pickle that runs a command', argv: ['gamma', evil, '--potential', box.file('p/potential.yaml', 'not read'), '--active-set', box.file('p/potential.asi', 'not read')], exit: 1, says: ['autopipe gamma: UnsafeInput:', ...unsafe], notCreated: [marker, box.at('evil.gamma.json')] },
  { name: 'select: a pickle that runs a command', argv: ['select', evil, '-n', '1', '--config', box.at('label.yaml'), '--work', box.at('select-work'), '--out', box.at('picked.extxyz')], exit: 1, says: ['autopipe select: UnsafeInput:', ...unsafe], notCreated: [marker, box.at('picked.extxyz')], mayWrite: [box.at('select-work')] },
  { name: 'train: a pickle that runs a command', argv: ['train', '--dataset', evil, '--config', box.at('label.yaml'), '--out', box.at('fit')], exit: 1, says: ['autopipe train: UnsafeInput:', ...unsafe], notCreated: [marker, box.at('fit/potential.yaml')], mayWrite: [box.at('fit')] },
  { name: 'dataset import: not a pickle', argv: ['dataset', 'import', box.at('junk.pckl.gzip'), '--run-dir', run], exit: 1, says: [`autopipe dataset import: InvalidInput: cannot read ${box.at('junk.pckl.gzip')} as a gzip-pickled pandas DataFrame`] },
  { name: 'dataset import: a file that does not exist', argv: ['dataset', 'import', box.at('gone.pckl.gzip'), '--run-dir', run], exit: 1, says: [`autopipe dataset import: InvalidInput: dataset not found: ${box.at('gone.pckl.gzip')}`] },
  { name: 'dataset import: structures with NaN positions', argv: ['dataset', 'import', nan, '--run-dir', run], exit: 1, says: [nan, /non-finite|NaN/i] },
  { name: 'dataset info: a run directory without a store', argv: ['dataset', 'info', box.at('tmp')], exit: 1, says: [/store\.sqlite/] },

  // --- campaign files whose structure or DFT settings are wrong (read with ASE before anything starts)
  { name: 'validate: a CIF with partial occupancy', argv: ['validate', yaml('partial.yaml', { system: { prototype: undefined, structure_file: 'partial.cif', elements: ['Si', 'Ge'] }, dft: { pseudopotentials: { Ge: 'Ge.pbe-kjpaw.UPF', Si: 'Si.pbe-rrkj.UPF' } } })], exit: 1, says: [`partial.yaml: system.structure_file: ${partial}[0]: partial occupancy on site 0 (`, 'Give an ordered structure (one species per site, occupancy 1), or a pure cell plus generation.substitution for a random alloy'] },
  { name: 'validate: a structure file with an element not in the system', argv: ['validate', yaml('gesys.yaml', { system: { prototype: undefined, structure_file: 'ge.extxyz' } })], exit: 1, says: [/gesys\.yaml: system\.structure_file: .*Ge/] },
  { name: 'validate: a structure file ASE cannot read', argv: ['validate', yaml('garbage.yaml', { system: { prototype: undefined, structure_file: 'garbage.xyz' } })], exit: 1, says: [`garbage.yaml: system.structure_file: cannot read structure [0] from ${garbage}`] },
  { name: 'validate: a structure with NaN positions', argv: ['validate', yaml('nan.yaml', { system: { prototype: undefined, structure_file: 'nan.extxyz' } })], exit: 1, says: [/nan\.yaml: system\.structure_file: .*(non-finite|NaN)/i] },
  { name: 'validate: kspacing 0.0001 (a 3190^3 k-grid)', argv: ['validate', yaml('kfine.yaml', { dft: { kspacing: 0.0001 } })], exit: 1, says: [/kfine\.yaml: DFT of the starting cell \(system, 2 atoms\): a 3190x3190x3190 k-point grid \(3\.25e\+10 points\) exceeds dft\.limits\.max_kpoints \(20000\): raise dft\.kspacing/] },
  { name: 'validate: a supercell larger than max_atoms_dft', argv: ['validate', yaml('super.yaml', { system: { supercell: [2, 2, 2] }, exploration: { max_atoms_dft: 8 } })], exit: 1, says: ['super.yaml: system.supercell: the starting cell times the supercell has 16 atoms, more than exploration.max_atoms_dft (8), the largest cell DFT labels: a smaller supercell, or raise max_atoms_dft'] },
  { name: 'validate: a 1000 Å cell', argv: ['validate', yaml('vacuum.yaml', { system: { prototype: undefined, structure_file: 'lonely.extxyz' } })], exit: 1, says: [/vacuum\.yaml: DFT of the starting cell \(system, 1 atoms\): the dense FFT grid 4860x4860x4860 .* exceeds dft\.limits\.max_fft_points/] },
  { name: 'start: kspacing 0.0001, refused before the server', argv: ['start', box.at('kfine.yaml')], env: offline, exit: 1, says: ['k-point grid (3.25e+10 points) exceeds dft.limits.max_kpoints (20000)'] },
  { name: 'teacher bootstrap: a CIF with partial occupancy', argv: ['teacher', 'bootstrap', '--config', box.at('partial.yaml'), '--run-dir', run], env: offline, exit: 1, says: ['partial occupancy on site 0'] },

  // --- label dft: every structure checked before the first pw.x
  { name: 'label dft: kspacing 0.0001', argv: ['label', 'dft', si2, '--config', box.at('kfine.yaml'), '--out', box.at('o.extxyz'), '--run-dir', run], env: offline, exit: 1, says: ['autopipe label dft: nothing was started:', `${si2} frame 0: a 3190x3190x3190 k-point grid (3.25e+10 points) exceeds dft.limits.max_kpoints (20000): raise dft.kspacing`] },
  { name: 'label dft: one atom in a 1000 Å cell', argv: ['label', 'dft', lonely, '--config', yaml('label.yaml'), '--out', box.at('o.extxyz'), '--run-dir', run], env: offline, exit: 1, says: [`${lonely} frame 0: the dense FFT grid 4860x4860x4860`, /pw\.x would need about \d+ GB .* more than dft\.limits\.max_memory_gb/] },
  { name: "label dft: 1000 atoms, above the campaign's max_atoms_dft", argv: ['label', 'dft', big, '--config', yaml('label64.yaml', { exploration: { max_atoms_dft: 64 } }), '--out', box.at('o.extxyz'), '--run-dir', run], env: offline, exit: 1, says: [`${big} frame 0: 1000 atoms, more than exploration.max_atoms_dft (64) of the campaign: label smaller cells, or raise max_atoms_dft`] },
  { name: 'label dft: an element the campaign has no pseudopotential for', argv: ['label', 'dft', ge, '--config', box.at('label.yaml'), '--out', box.at('o.extxyz'), '--run-dir', run], env: offline, exit: 1, says: [`${ge} frame 0: Ge has no pseudopotential in the campaign (add to system.elements and dft.pseudopotentials)`] },
  { name: 'label dft: a CIF with partial occupancy', argv: ['label', 'dft', partial, '--config', box.at('label.yaml'), '--out', box.at('o.extxyz'), '--run-dir', run], env: offline, exit: 1, says: [`${partial} frame 0: partial occupancy on site 0`] },
  { name: 'label dft: a file ASE cannot read', argv: ['label', 'dft', garbage, '--config', box.at('label.yaml'), '--out', box.at('o.extxyz'), '--run-dir', run], env: offline, exit: 1, says: [`autopipe label dft: ${garbage}: cannot read structures from ${garbage}`] },
  { name: 'label dft: overlapping atoms', argv: ['label', 'dft', overlap, '--config', box.at('label.yaml'), '--out', box.at('o.extxyz'), '--run-dir', run], env: offline, exit: 1, says: [overlap, /closer|distance|overlap/i] },

  // --- generate from a structure ASE reads wrongly
  { name: 'generate: --structure with partial occupancy', argv: ['generate', '--config', box.at('label.yaml'), '--structure', partial, '--count', '2', '--out', box.at('g.extxyz'), '--run-dir', run], exit: 1, says: [`autopipe generate: InvalidInput: ${partial}[0]: partial occupancy on site 0`] },
];

describe('bad-input catalogue: files read with Python', () => {
  it.each(cases)('$name', (c) => checkBadInput(c, box));

  it('the malicious pickle is a real attack: read with plain pandas it creates MARKER', async () => {
    // The control: proves the file above would have run its command (in a copy, so the sandbox stays clean).
    const copy = box.file('control/evil.pckl.gzip', '');
    const before = snapshot(box.at('run'));
    await py(`import shutil, pandas as pd; shutil.copy(${JSON.stringify(evil)}, ${JSON.stringify(copy)}); pd.read_pickle(${JSON.stringify(copy)}, compression='gzip'); print('read')`);
    const { existsSync } = await import('node:fs');
    expect(existsSync(marker)).toBe(true);
    rmSync(marker);
    rmSync(box.at('control'), { recursive: true, force: true });
    expect(snapshot(box.at('run'))).toEqual(before);
  });
});

export const count = cases.length;

// Datasets on real tools: exact round trips through Pacemaker's .pckl.gzip and MACE's extxyz, a real
// pacemaker fit on an exported file, MACE's own loader on the extxyz, accumulation per generation,
// stable splits, reference energies and weights, typed validation errors, the CLI, and the smoke
// workflow's direct writer on a real pw.x label. Labels come from ASE's EMT calculator (milliseconds
// per cell) and pw.x.
import { execa } from 'execa';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CampaignSchema, DftSchema, TrainingSchema } from '../common/campaign-schema';
import { projectRoot } from '../host/paths';
import { datasetInfo, exportDataset, importDataset, type ExportResult } from '../activities/store/datasets';
import { fitAce } from '../activities/ace/fit';
import { buildTrainingSet } from '../activities/ace/replay';
import { dftLabel, type DftLabelRef } from '../activities/dft/qe';
import { addLabels, storeInfo, type LabelInput } from '../activities/store/store';
import { generateStructures } from '../activities/structures/generate';
import { py, pyJson } from './helpers/python';

const tmp = (p: string) => mkdtempSync(path.join(os.tmpdir(), `autopipe-ds-${p}-`));
const cli = path.join(projectRoot, 'bin', 'autopipe.mjs');
const cu = CampaignSchema.parse({
  system: { name: 'Cu', elements: ['Cu'], prototype: { kind: 'fcc', a: 3.6, cubic: true }, supercell: [2, 1, 1] },
  generation: { rattle_sigma: 0.06, volume_range: [0.95, 1.05], shear_fraction: 0.3, vacancy_fraction: 0.1, surface_fraction: 0.1, surface: { miller: [[1, 0, 0]], layers: 4, vacuum: 5 }, min_distance: 1.8 },
});

/** EMT labels (energy, forces, stress; slabs have no stress) for every structure of a file. */
async function emtLabels(file: string, ids: string[]): Promise<LabelInput[]> {
  const rows = await pyJson<{ e: number; f: number[][]; s: number[] | null }[]>(`
import json
from ase.io import read
from ase.calculators.emt import EMT
out = []
for a in read(${JSON.stringify(file)}, ':'):
    a.calc = EMT()
    out.append(dict(e=a.get_potential_energy(), f=a.get_forces().tolist(), s=a.get_stress().tolist() if a.pbc.all() else None))
print(json.dumps(out))`);
  return rows.map((r, i) => ({ structureId: ids[i]!, oracle: 'emt', settingsHash: 'asap-default', energy: r.e, forces: r.f, stress: r.s }));
}

/** Every labelled structure of a store as (id -> exact arrays), read with the store's own Python API. */
const dumpStore = (runDir: string, oracle = 'emt') => `
import json, numpy as np
from activities.store.store import Store
st = Store(${JSON.stringify(path.join(runDir, 'store.sqlite'))}, create=False)
dump = {sid: dict(numbers=a.numbers.tolist(), positions=a.positions.tolist(), cell=a.cell.array.tolist(), pbc=a.pbc.tolist(),
                  energy=lab['energy'], forces=lab['forces'].tolist(), stress=None if lab['stress'] is None else lab['stress'].tolist(),
                  source=prov['source'], generation=prov['generation'], config_type=prov['config_type'])
        for sid, a, prov, lab in st.iter_labelled({}, [${JSON.stringify(oracle)}])}
`;

let runDir: string;
let gen0Ids: string[];
let gen1Ids: string[];

beforeAll(async () => {
  runDir = tmp('run');
  const g0 = await generateStructures({ runDir, name: 'g0', system: cu.system, generation: { ...cu.generation, count: 20 }, seed: 1, store: { source: 'initial_random', generation: 0 } });
  const g1 = await generateStructures({ runDir, name: 'g1', system: cu.system, generation: { ...cu.generation, count: 8, surface_fraction: 0 }, seed: 2, store: { source: 'md_halt', generation: 1 } });
  gen0Ids = g0.ids;
  gen1Ids = g1.ids;
  await addLabels({ runDir, labels: [...(await emtLabels(g0.output, g0.ids)), ...(await emtLabels(g1.output, g1.ids))] });
});

describe('exact round trips', () => {
  it('keep positions, numbers, cell, pbc, energy, forces and stress bit for bit through .pckl.gzip and extxyz', async () => {
    const out = tmp('out');
    const ex = await exportDataset({ runDir, name: 'all', outDir: out, oracles: ['emt'] });
    expect(ex).toMatchObject({ count: 28, train: 28, test: 0, unlabelled: 0, byOracle: { emt: 28 }, elements: ['Cu'] });
    const pckl = ex.files.find((f) => f.format === 'pckl')!.path;
    const xyz = ex.files.find((f) => f.format === 'extxyz')!.path;
    const [a, b] = [tmp('from-pckl'), tmp('from-xyz')];
    expect(await importDataset({ runDir: a, file: pckl })).toMatchObject({ rows: 28, structures: { inserted: 28 }, labels: { inserted: 28 } });
    expect(await importDataset({ runDir: b, file: xyz })).toMatchObject({ rows: 28, structures: { inserted: 28 }, labels: { inserted: 28 } });
    const verdict = await py(`
${dumpStore(runDir)}
ref = dump
${dumpStore(a)}
via_pckl = dump
${dumpStore(b)}
via_xyz = dump
slabs = sum(1 for v in ref.values() if v['pbc'] == [True, True, False])
print(len(ref), slabs, ref == via_pckl, ref == via_xyz)`);
    // Python == on the nested lists compares every float exactly; provenance travels too.
    expect(verdict).toBe('28 2 True True');
  });

  it('the .pckl.gzip is the DataFrame Pacemaker reads, and a real pacemaker fit loads it', async () => {
    const out = tmp('fit');
    const ex = await exportDataset({ runDir, name: 'fit', outDir: out, oracles: ['emt'], formats: ['pckl'], testFraction: 0.25, filter: { generation: 0 } });
    const [train, test] = [ex.files.find((f) => f.split === 'train')!, ex.files.find((f) => f.split === 'test')!];
    expect(train.count + test.count).toBe(20);
    const frame = await pyJson<{ cols: string[]; n: number; ok: boolean; slabs: number }>(`
import json, numpy as np, pandas as pd
df = pd.concat([pd.read_pickle(p, compression='gzip') for p in ${JSON.stringify([train.path, test.path])}])
ok = all(np.shape(f) == (len(a), 3) for a, f in zip(df.ase_atoms, df.forces)) and bool((df.energy == df.energy_corrected).all())
slabs = [a for a, p in zip(df.ase_atoms, df.stored_pbc) if p == 'TTF']
print(json.dumps(dict(cols=list(df.columns), n=len(df), ok=ok and all(a.pbc.all() for a in df.ase_atoms), slabs=len(slabs))))`);
    expect(frame.cols).toEqual(['name', 'ase_atoms', 'energy', 'forces', 'energy_corrected', 'stress', 'source', 'generation', 'oracle', 'settings_hash', 'config_type', 'stored_pbc']);
    // Pacemaker takes only fully periodic cells: the two slabs go in periodic, their pbc kept aside for imports.
    expect(frame).toMatchObject({ n: 20, ok: true, slabs: 2 });
    const training = TrainingSchema.parse({ number_of_functions_per_element: 8, ranks_max_order: 2, lmax: 1, nradmax: 2, cutoff: 4.0, backend: 'pyace', batch_size: 100 });
    const fit = await fitAce({ outDir: path.join(out, 'pot'), datasetFile: train.path, testDatasetFile: test.path, elements: ['Cu'], training, seed: 1, maxiter: 2, activeSet: false });
    const log = readFileSync(path.join(out, 'pot', 'pacemaker.log'), 'utf8');
    // Pacemaker's own account of what it loaded and fitted.
    expect(log).toContain(`Fitting dataset size: ${train.count} structures`);
    expect(log).toContain(`Test dataset size: ${test.count} structures`);
    expect(fit.metrics.train_rmse_energy_mev_atom).toBeGreaterThan(0);
  });

  it("MACE's data loader reads the extxyz with the REF_ keys and gets the stored labels exactly", async () => {
    const out = tmp('mace');
    const ex = await exportDataset({ runDir, name: 'mace', outDir: out, oracles: ['emt'], formats: ['extxyz'], filter: { generationMax: 1 } });
    const verdict = await py(`
import numpy as np
from mace.data.utils import KeySpecification, load_from_xyz
${dumpStore(runDir)}
voigt = lambda s: np.asarray(s).ravel()[[0, 4, 8, 5, 2, 1]] if np.size(s) == 9 else np.asarray(s)  # MACE keeps 6 or makes 3x3
keys = KeySpecification.from_defaults().update(info_keys={'energy': 'REF_energy', 'stress': 'REF_stress'}, arrays_keys={'forces': 'REF_forces'})
_, configs = load_from_xyz(${JSON.stringify(ex.files[0]!.path)}, keys)
ref = list(dump.values())
same = [c.properties['energy'] == r['energy'] and np.array_equal(c.properties['forces'], r['forces']) and np.array_equal(c.positions, r['positions'])
        and (r['stress'] is None or np.array_equal(voigt(c.properties['stress']), r['stress']))
        for c, r in zip(configs, ref)]
print(len(configs), sum(same))`);
    expect(verdict).toBe('28 28');
  });
});

describe('accumulation, deduplication and splits', () => {
  it('accumulates per generation and keeps every structure on its side of a hash split as the set grows', async () => {
    const out = tmp('acc');
    const splitIds = async (r: ExportResult) =>
      pyJson<Record<string, string[]>>(`
import json
from ase.io import read
print(json.dumps({s: [a.info['structure_id'] for a in read(p, ':')] for s, p in ${JSON.stringify(Object.fromEntries(r.files.map((f) => [f.split, f.path])))}.items()}))`);
    const g0 = await exportDataset({ runDir, name: 'g0', outDir: out, oracles: ['emt'], formats: ['extxyz'], testFraction: 0.3, filter: { generationMax: 0 } });
    const g1 = await exportDataset({ runDir, name: 'g1', outDir: out, oracles: ['emt'], formats: ['extxyz'], testFraction: 0.3, filter: { generationMax: 1 } });
    expect([g0.count, g1.count]).toEqual([20, 28]);
    const [s0, s1] = [await splitIds(g0), await splitIds(g1)];
    expect([...s0.train!, ...s0.test!].sort()).toEqual([...gen0Ids].sort());
    expect(s0.test!.length).toBeGreaterThan(0);
    expect(s0.test!.every((id) => s1.test!.includes(id))).toBe(true);
    expect(s0.train!.every((id) => s1.train!.includes(id))).toBe(true);
    expect(s1.train!.filter((id) => s1.test!.includes(id))).toEqual([]);
    expect([...s1.train!, ...s1.test!].sort()).toEqual([...gen0Ids, ...gen1Ids].sort());
  });

  it('deduplicates by hash: rows repeated in a file, and a file imported twice', async () => {
    const out = tmp('dedup');
    const ex = await exportDataset({ runDir, name: 'g1', outDir: out, oracles: ['emt'], formats: ['extxyz'], filter: { generation: 1 } });
    const twice = path.join(out, 'twice.extxyz');
    const text = readFileSync(ex.files[0]!.path, 'utf8');
    writeFileSync(twice, text + text);
    const target = tmp('dedup-store');
    expect(await importDataset({ runDir: target, file: twice })).toMatchObject({ rows: 16, duplicatesInFile: 8, structures: { inserted: 8 }, labels: { inserted: 8 } });
    expect(await importDataset({ runDir: target, file: ex.files[0]!.path })).toMatchObject({ rows: 8, structures: { inserted: 0, existing: 8 }, labels: { inserted: 0, existing: 8 } });
    const info = await storeInfo({ runDir: target });
    expect(info).toMatchObject({ structures: 8, by_generation: { '1': 8 }, by_source: { md_halt: 8 }, by_oracle: { emt: 8 } });
  });
});

describe('reference energies and weights', () => {
  it('energy_corrected subtracts the per-element references; weights become w_energy / w_forces', async () => {
    const out = tmp('refs');
    const ex = await exportDataset({ runDir, name: 'w', outDir: out, oracles: ['emt'], formats: ['pckl'], referenceEnergies: { Cu: -0.25 }, weights: { emt: 2 }, filter: { generation: 1 } });
    const check = await py(`
import pandas as pd, numpy as np
df = pd.read_pickle(${JSON.stringify(ex.files[0]!.path)}, compression='gzip')
corr = all(ec == e - sum(-0.25 for _ in a) for e, ec, a in zip(df.energy, df.energy_corrected, df.ase_atoms))
w = bool((df.w_energy == 2.0).all()) and all(np.array_equal(wf, np.full(len(a), 2.0)) for wf, a in zip(df.w_forces, df.ase_atoms))
print(corr, w)`);
    expect(check).toBe('True True');
    const err = await exportDataset({ runDir, name: 'x', outDir: out, oracles: ['emt'], formats: ['pckl'], referenceEnergies: { Au: -0.1 } }).catch((e) => e);
    expect(err.type).toBe('InvalidInput');
    expect(err.message).toMatch(/no reference energy for \['Cu'\] \(training.reference_energies \/ --reference-energies\)/);
  });
});

describe('validation: typed errors, nothing written', () => {
  it('export: stress required but missing (slabs), or no label from the oracles asked for', async () => {
    const out = tmp('vexp');
    const e1 = await exportDataset({ runDir, name: 's', outDir: out, oracles: ['emt'], requireStress: true }).catch((e) => e);
    expect(e1.type).toBe('InvalidInput');
    expect(e1.message).toMatch(/store label emt\/asap-default of [0-9a-f]{20}: stress is missing but required/);
    const e2 = await exportDataset({ runDir, name: 'd', outDir: out, oracles: ['dft'] }).catch((e) => e);
    expect(e2.message).toContain('the dataset would be empty: none of the 28 selected structures has a dft label');
    expect(await py(`import os; print(sorted(os.listdir(${JSON.stringify(out)})))`)).toBe('[]'); // no partial files left behind
  });

  it('import: NaN forces, missing energy, a non-DataFrame file, conflicting duplicate rows', async () => {
    const dir = tmp('vimp');
    const files = await pyJson<Record<string, string>>(`
import json, numpy as np, pandas as pd
from ase.build import bulk
from ase.io import write
d = ${JSON.stringify(dir)}
a = bulk('Cu', 'fcc', a=3.6, cubic=True)
good = a.copy(); good.info['REF_energy'] = -1.0; good.arrays['REF_forces'] = np.zeros((4, 3))
bad = a.copy(); bad.positions[0, 0] += 0.1; bad.info['REF_energy'] = -1.0; f = np.zeros((4, 3)); f[2, 1] = np.nan; bad.arrays['REF_forces'] = f
write(d + '/nan.extxyz', [good, bad], format='extxyz')
noe = a.copy(); noe.arrays['REF_forces'] = np.zeros((4, 3))
write(d + '/noenergy.extxyz', [noe], format='extxyz')
other = good.copy(); other.info['REF_energy'] = -1.5
write(d + '/conflict.extxyz', [good, other], format='extxyz')
pd.DataFrame({'ase_atoms': [a], 'energy_corrected': [-1.0], 'forces': [np.zeros((4, 3))]}).to_pickle(d + '/corrected.pckl.gzip', compression='gzip')
pd.Series([1, 2]).to_pickle(d + '/series.pckl.gzip', compression='gzip')
open(d + '/junk.pckl.gzip', 'wb').write(b'not a pickle at all')
print(json.dumps({k: d + '/' + v for k, v in dict(nan='nan.extxyz', noenergy='noenergy.extxyz', conflict='conflict.extxyz', corrected='corrected.pckl.gzip', series='series.pckl.gzip', junk='junk.pckl.gzip').items()}))`);
    const target = tmp('vimp-store');
    const expectations: [string, string, string][] = [
      ['nan', 'InvalidInput', `${files.nan} frame 1: forces contain NaN or infinite values`],
      ['noenergy', 'InvalidInput', `${files.noenergy} frame 0: no energy (REF_energy in the comment line, or energy=); pass --energy-key if it has another name`],
      ['conflict', 'LabelConflict', `${files.conflict} frame 1: structure`],
      ['corrected', 'InvalidInput', `${files.corrected}: no 'energy' column (only energy_corrected: the total energies cannot be restored without the reference energies)`],
      ['series', 'InvalidInput', `${files.series} holds a Series, not a pandas DataFrame (Pacemaker's format)`],
      ['junk', 'InvalidInput', `cannot read ${files.junk} as a`],
    ];
    const errors = await Promise.all(expectations.map(([key]) => importDataset({ runDir: target, file: files[key]! }).catch((e) => e)));
    expectations.forEach(([key, type, message], i) => {
      expect([key, errors[i].type]).toEqual([key, type]);
      expect(errors[i].message).toContain(message);
    });
    expect((await storeInfo({ runDir: target })).structures).toBe(0); // every file had a valid row first: none stored
  });
});

describe('autopipe dataset export|import|info', () => {
  it('exports, imports and describes through the CLI', async () => {
    const out = tmp('cli');
    const run = (args: string[]) => execa(process.execPath, [cli, 'dataset', ...args], { reject: false });
    const ex = await run(['export', '--run-dir', runDir, '--oracle', 'emt', '--generation-max', '1', '--test-fraction', '0.25', '--out-dir', out, '--name', 'acc']);
    expect(ex.stderr).toBe('');
    expect(ex.exitCode).toBe(0);
    expect(ex.stdout).toMatch(/^28 labelled structures \(emt 28; \d+ train, \d+ test\); 0 selected structures had no such label$/m);
    expect(ex.stdout).toContain(path.join(out, 'acc.pckl.gzip'));
    expect(ex.stdout).toContain(path.join(out, 'acc.test.extxyz'));
    const target = tmp('cli-store');
    const [im, info, bad, missing] = await Promise.all([
      run(['import', path.join(out, 'acc.pckl.gzip'), '--run-dir', target, '--oracle', 'emt', '--settings-hash', 'asap-default']),
      run(['info', path.join(out, 'acc.extxyz')]),
      run(['export', '--run-dir', runDir, '--weights', 'emt=heavy']),
      run(['import', path.join(out, 'nope.pckl.gzip'), '--run-dir', tmp('cli-missing')]),
    ]);
    expect(im.exitCode).toBe(0);
    expect(im.stdout).toMatch(/^\d+ rows read \(0 duplicates in the file\) into .*store\.sqlite$/m);
    expect(info.exitCode).toBe(0);
    expect(info.stdout).toMatch(/acc\.extxyz: extxyz, \d+ structures \(\d+ distinct\)/);
    expect(info.stdout).toContain('labels by oracle: emt');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--weights: "emt=heavy" must look like NAME=NUMBER');
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain(`autopipe dataset import: InvalidInput: dataset not found: ${path.join(out, 'nope.pckl.gzip')}`);
    const storeJson = JSON.parse((await run(['info', target, '--json'])).stdout);
    expect(storeJson).toMatchObject({ kind: 'store', by_oracle: { emt: expect.any(Number) } });
  });
});

describe('the validation set stays out of an exported training file', () => {
  it('a filter export leaves out split=validation structures unless asked for; --test-fraction puts them in the test file', async () => {
    const dir = tmp('val');
    const g = await generateStructures({ runDir: dir, name: 'g', system: cu.system, generation: { ...cu.generation, count: 8, surface_fraction: 0 }, seed: 3, store: { source: 'md_select', generation: 1 } });
    await addLabels({ runDir: dir, labels: await emtLabels(g.output, g.ids) });
    const held = g.ids.slice(0, 3);
    await py(`
from activities.store.store import Store
st = Store(${JSON.stringify(path.join(dir, 'store.sqlite'))}, create=False)
st.mark_split(${JSON.stringify(held)}, "validation")
st.close()`);
    const out = tmp('val-out');
    const run = (args: string[]) => execa(process.execPath, [cli, 'dataset', 'export', '--run-dir', dir, '--oracle', 'emt', '--out-dir', out, ...args], { reject: false });
    const ids = (file: string) => [...readFileSync(file, 'utf8').matchAll(/structure_id="?([0-9a-f]+)/g)].map((m) => m[1]!);
    const train = await run(['--name', 'train', '--format', 'both']);
    expect(train.stderr).toBe('');
    expect(train.stdout).toContain("3 structures of the campaign's validation/test split left out");
    expect(ids(path.join(out, 'train.extxyz')).sort()).toEqual(g.ids.slice(3).sort());
    const val = await run(['--name', 'val', '--split', 'validation', '--format', 'extxyz', '--json']);
    expect(JSON.parse(val.stdout)).toMatchObject({ count: 3, heldOut: 0 });
    expect(ids(path.join(out, 'val.extxyz')).sort()).toEqual([...held].sort());
    const trainOnly = await run(['--name', 'only', '--split', 'train', '--format', 'extxyz', '--json']);
    expect(JSON.parse(trainOnly.stdout)).toMatchObject({ count: 5 });
    const split = await run(['--name', 'split', '--test-fraction', '0.01', '--format', 'extxyz']);
    expect(ids(path.join(out, 'split.test.extxyz'))).toEqual(expect.arrayContaining(held));
    for (const id of held) expect(ids(path.join(out, 'split.extxyz'))).not.toContain(id);
    const none = await run(['--name', 'none', '--split', 'bogus']);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain('--split: choose from train, validation, test (got bogus)');
  });
});

describe('datasets are exports of exact store labels (named sets with weights)', () => {
  it('a pw.x label goes into both formats exactly as labelled; member weights reach Pacemaker and MACE', async () => {
    const dir = tmp('sets');
    const si = CampaignSchema.parse({ system: { name: 'Si', elements: ['Si'], prototype: { kind: 'diamond', a: 5.43 } }, generation: { count: 3, vacancy_fraction: 0, shear_fraction: 0 } });
    const g = await generateStructures({ runDir: dir, name: 's', system: si.system, generation: si.generation, seed: 9 });
    const dft = DftSchema.parse({ pseudopotentials: { Si: 'Si.pz-vbc.UPF' }, ecutwfc: 18, smearing: 'none', kspacing: 0.09 });
    const refs: DftLabelRef[] = [];
    for (const [i, id] of g.ids.entries()) refs.push(await dftLabel({ runDir: dir, structureId: id, structureFile: g.output, index: i, dft }));
    const m = (i: number, weight?: number) => ({ id: g.ids[i]!, oracle: 'dft', settings_hash: refs[i]!.labelKey, weight });
    const ds = await exportDataset({ runDir: dir, name: 'd', sets: ['one'], define: { set: 'one', generation: 0, members: [m(0)] } });
    expect(ds).toMatchObject({ count: 1, pckl: path.join(dir, 'datasets', 'd.pckl.gzip'), extxyz: path.join(dir, 'datasets', 'd.extxyz') });
    const same = await py(`
import json, numpy as np, pandas as pd
from ase.io import read
lab = json.load(open(${JSON.stringify(refs[0]!.labelFile)}))
df = pd.read_pickle(${JSON.stringify(ds.pckl)}, compression='gzip')
x = read(${JSON.stringify(ds.extxyz)})
print(df.energy[0] == lab['energy'], np.array_equal(df.forces[0], lab['forces']), x.info['REF_energy'] == lab['energy'],
      np.array_equal(x.arrays['REF_forces'], lab['forces']), np.array_equal(x.info['REF_stress'], lab['stress']))`);
    expect(same).toBe('True True True True True');
    const info = await datasetInfo({ file: ds.pckl! });
    expect(info).toMatchObject({ kind: 'pckl', count: 1, elements: ['Si'], by_oracle: { dft: 1 } });

    // Per-member weights (teacher labels weigh less than DFT): Pacemaker's w_factor, MACE's config_weight,
    // kept through the replay history when a later generation joins.
    const w = await exportDataset({ runDir: dir, name: 'w', sets: ['training'], setGenerations: { min: 0, max: 0 }, define: { set: 'training', generation: 0, members: [m(0), m(1, 0.3)] } });
    const later = await exportDataset({ runDir: dir, name: 'later', formats: ['pckl'], sets: ['training'], setGenerations: { min: 1, max: 1 }, define: { set: 'training', generation: 1, members: [m(2)] } });
    const history = await exportDataset({ runDir: dir, name: 'history', formats: ['pckl'], sets: ['training'], setGenerations: { max: 0 } });
    const gen1 = await buildTrainingSet({ historyFile: history.pckl!, newDataset: later.pckl!, trainingFile: path.join(dir, 'gen-1.pckl.gzip'), bufferSize: 10, seed: 1, generation: 1 });
    const weights = await pyJson<{ factor: Record<string, number>; configWeight: (number | null)[]; pyace: Record<string, number> }>(`
import json, pandas as pd
from ase.io import read
from pyace.preparedata import apply_weights, normalize_energy_forces_weights
df = pd.read_pickle(${JSON.stringify(gen1.trainingFile)}, compression='gzip')
factor = dict(zip(df.name, map(float, df.w_factor)))
# Pacemaker's own weighting: its default policy, times w_factor, normalised
df["NUMBER_OF_ATOMS"] = df.ase_atoms.map(len)
ref = apply_weights(df.copy(), None)
normalize_energy_forces_weights(ref)
pyace = dict(zip(ref.name, map(float, ref.w_energy / ref.w_energy[ref.name == ${JSON.stringify(g.ids[0])}].iloc[0])))
frames = read(${JSON.stringify(w.extxyz)}, index=":")
print(json.dumps({"factor": factor, "configWeight": [f.info.get("config_weight") for f in frames], "pyace": pyace}))`);
    expect(weights.factor).toEqual({ [g.ids[0]!]: 1, [g.ids[1]!]: 0.3, [g.ids[2]!]: 1 });
    expect(weights.configWeight).toEqual([1, 0.3]);
    expect(weights.pyace[g.ids[1]!]).toBeCloseTo(0.3, 12);
    expect(weights.pyace[g.ids[2]!]).toBeCloseTo(1, 12);

    const bad = await exportDataset({ runDir: dir, name: 'bad', sets: ['bad'], define: { set: 'bad', generation: 0, members: [m(0, -1)] } }).catch((e) => e);
    expect(bad.type).toBe('InvalidInput');
    expect(bad.message).toMatch(/weight must be a finite number >= 0 \(got -1\)/);
  });
});

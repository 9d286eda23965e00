// ACE training on real Pacemaker with EMT-labelled Cu: generation 0 from scratch through `autopipe
// train`, held-out accuracy checked independently with the .yace, extrapolation grades, and an
// incremental generation 1 that reaches generation 0's test loss in fewer iterations than a fresh fit.
import { execa } from 'execa';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { extrapolationGrade, readGammaRows } from '../activities/ace/gamma';
import { fitAce, type FitResult } from '../activities/ace/fit';
import { metricsRows } from '../activities/ace/fit-metrics';
import { selectDOptimal } from '../activities/ace/selection';
import { fitProgressParser } from '../activities/ace/fit-progress';
import { projectRoot } from '../host/paths';
import { pyJson } from './helpers/python';
import { campaignFile, concatDatasets, cuTraining, emtDataset, logDets, tempDir } from './fixtures/training/data';

const cli = path.join(projectRoot, 'bin', 'autopipe.mjs');
let dir: string;
let data: Record<'gen0' | 'wide' | 'heldNear' | 'heldWide' | 'testMix' | 'distorted' | 'gen1' | 'pool', string>;
let gen0: FitResult;

beforeAll(async () => {
  dir = tempDir('ace-training');
  const [g0, wide, heldNear, heldWide, distorted] = await Promise.all([
    emtDataset(dir, 'gen0', { count: 40, seed: 21 }),
    emtDataset(dir, 'wide', { count: 20, seed: 22, kind: 'wide' }),
    emtDataset(dir, 'held-near', { count: 15, seed: 23 }),
    emtDataset(dir, 'held-wide', { count: 10, seed: 24, kind: 'wide' }),
    emtDataset(dir, 'distorted', { count: 3, seed: 25, kind: 'distorted', extxyz: true }),
    emtDataset(dir, 'pool', { count: 60, seed: 26, kind: 'wide', extxyz: true }),
  ]);
  const [testMix, gen1] = await Promise.all([
    concatDatasets(path.join(dir, 'test-mix.pckl.gzip'), [heldNear, heldWide]),
    concatDatasets(path.join(dir, 'gen1.pckl.gzip'), [g0, wide]),
  ]);
  data = { gen0: g0, wide, heldNear, heldWide, testMix, distorted, gen1, pool: path.join(dir, 'pool.extxyz') };
  // Generation 0 from scratch, through the CLI as a user would run it.
  const r = await execa(process.execPath, [cli, 'train', '--dataset', g0, '--config', campaignFile, '--test', testMix, '--out', path.join(dir, 'gen-0'), '--json'], { cwd: projectRoot, reject: false });
  if (r.exitCode !== 0) throw new Error(`autopipe train failed (${r.exitCode}):\n${r.stderr}`);
  gen0 = JSON.parse(r.stdout) as FitResult;
  console.log(`gen-0: ${gen0.metrics.iterations} iterations in ${gen0.metrics.wall_seconds.toFixed(1)} s, test RMSE ${gen0.metrics.test_rmse_energy_mev_atom!.toFixed(2)} meV/atom ${gen0.metrics.test_rmse_forces_mev_a!.toFixed(1)} meV/Å`);
});

describe('generation 0 from scratch', () => {
  it('writes the potential, .yace, active set and metrics from Pacemaker\'s own files', () => {
    expect(gen0.mode).toBe('scratch');
    expect(gen0.functionsPerElement).toEqual({ Cu: 20 });
    for (const f of [gen0.potentialYaml, gen0.yace, gen0.asi!, gen0.inputYaml, path.join(dir, 'gen-0', 'metrics.json')]) expect(existsSync(f)).toBe(true);
    expect(gen0.metrics.iterations).toBe(40);
    expect(gen0.metrics.train_structures).toBe(40);
    const last = metricsRows(path.join(gen0.workDir, 'test_cycle_metrics.txt')).at(-1)!;
    expect(gen0.metrics.test_rmse_forces_mev_a).toBeCloseTo(last.rmse_f_comp! * 1000, 6);
  });

  it('a retry with the same inputs returns the finished fit without running Pacemaker again', async () => {
    const logBefore = readFileSync(gen0.logFile, 'utf8').length;
    const started = Date.now();
    const again = await fitAce({ outDir: path.join(dir, 'gen-0'), datasetFile: data.gen0, testDatasetFile: data.testMix, elements: ['Cu'], training: cuTraining(), seed: 7 });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(again).toEqual(gen0);
    expect(readFileSync(gen0.logFile, 'utf8').length).toBe(logBefore);
  });

  it('input.yaml parsed back has the campaign\'s values', () => {
    const doc = YAML.parse(readFileSync(gen0.inputYaml, 'utf8'));
    expect(doc.seed).toBe(7);
    expect(doc.potential.bonds.ALL.rcut).toBe(5);
    expect(doc.potential.functions).toEqual({ number_of_functions_per_element: 20, ALL: { nradmax_by_orders: [15, 4, 2], lmax_by_orders: [0, 2, 1] } });
    expect(doc.fit).toMatchObject({ maxiter: 40, loss: { kappa: 0.3 } });
    expect(doc.fit.repulsion).toBeUndefined();
    expect(doc.potential.bonds.CuCu).toMatchObject({ r_in: gen0.zblInnerCutoffs!.CuCu, inner_cutoff_type: 'zbl' });
    expect(doc.data).toEqual({ filename: data.gen0, test_filename: data.testMix, reference_energy: { Cu: 0 } });
    expect(doc.backend).toEqual({ evaluator: 'tensorpot', batch_size: 50, display_step: 10 });
  });

  it('logged every iteration in a form the heartbeat parser reads', () => {
    const parse = fitProgressParser(40);
    const seen = new Set(readFileSync(gen0.logFile, 'utf8').split('\n').map(parse).filter((p) => p !== undefined).map((p) => p.iteration));
    for (let i = 0; i <= 40; i++) expect(seen.has(i)).toBe(true);
  });

  it('predicts held-out structures within 5 meV/atom and 60 meV/Å (the .yace, checked against EMT)', async () => {
    const r = await pyJson<{ e: number; f: number; e0: number; f0: number }>(`
import json, numpy as np, pandas as pd
from pyace import PyACECalculator
calc = PyACECalculator(${JSON.stringify(gen0.yace)})
df = pd.read_pickle(${JSON.stringify(data.heldNear)}, compression="gzip")
de, df_, e_ref = [], [], []
for atoms, e, f in zip(df.ase_atoms, df.energy, df.forces):
    a = atoms.copy(); a.calc = calc
    de.append((a.get_potential_energy() - e) / len(a)); df_.append((a.get_forces() - f).ravel()); e_ref.append(e / len(a))
f_all = np.concatenate([np.ravel(f) for f in df.forces])
print(json.dumps({"e": 1e3 * float(np.sqrt(np.mean(np.square(de)))), "f": 1e3 * float(np.sqrt(np.mean(np.square(np.concatenate(df_))))),
  "e0": 1e3 * float(np.std(e_ref)), "f0": 1e3 * float(np.sqrt(np.mean(f_all ** 2)))}))`);
    console.log(`held-out (15 near-equilibrium cells): RMSE ${r.e.toFixed(2)} meV/atom, ${r.f.toFixed(1)} meV/Å (spread of the data: ${r.e0.toFixed(1)} meV/atom, ${r.f0.toFixed(0)} meV/Å)`);
    expect(r.e).toBeLessThan(5);
    expect(r.f).toBeLessThan(60);
    expect(r.f).toBeLessThan(r.f0 / 5);
  });

  it('keeps ZBL core repulsion: inner cutoff 0.3 Å below the closest training pair, two atoms at 0.8 Å strongly repelled', async () => {
    const r = await pyJson<{ type: string; r_in: number; dmin: number; e08: number; e25: number }>(`
import json, numpy as np, pandas as pd
from ase import Atoms
from ase.neighborlist import neighbor_list
from pyace import BBasisConfiguration, PyACECalculator
b = BBasisConfiguration(${JSON.stringify(gen0.potentialYaml)}).funcspecs_blocks[0]
df = pd.read_pickle(${JSON.stringify(data.gen0)}, compression="gzip")
dmin = min(neighbor_list("d", a, 3.0).min() for a in df.ase_atoms)
calc = PyACECalculator(${JSON.stringify(gen0.yace)})
def e(r):
    a = Atoms("Cu2", positions=[[0, 0, 0], [r, 0, 0]], cell=[20, 20, 20], pbc=False); a.calc = calc
    return float(a.get_potential_energy())
print(json.dumps({"type": b.inner_cutoff_type, "r_in": b.r_in, "dmin": float(dmin), "e08": e(0.8), "e25": e(2.5)}))`);
    expect(r.type).toBe('zbl');
    expect(r.r_in).toBeCloseTo(r.dmin - 0.3, 6); // training.zbl_margin
    expect(r.e08 - r.e25).toBeGreaterThan(20); // eV: ZBL for Cu-Cu at 0.8 Å is ~10^2 eV
  });
});

describe('extrapolation grade', () => {
  it('is <= 1 on every training structure and >> 1 on strongly distorted ones', async () => {
    const train = await extrapolationGrade({ structures: data.gen0, potential: gen0.potentialYaml, results: path.join(dir, 'gamma-train.json') });
    expect(train.count).toBe(40);
    expect(train.maxGamma).toBeLessThanOrEqual(1.01 + 1e-9); // pace_activeset's MaxVol tolerance
    const held = await extrapolationGrade({ structures: data.heldNear, potential: gen0.potentialYaml, results: path.join(dir, 'gamma-held.json') });
    const dist = await extrapolationGrade({ structures: path.join(dir, 'distorted.extxyz'), potential: gen0.potentialYaml, thresholds: [1.5, 5] });
    const rows = readGammaRows(dist.results);
    console.log(`gamma: training max ${train.maxGamma.toFixed(3)}, held-out max ${held.maxGamma.toFixed(2)} (median ${held.medianGamma!.toFixed(2)}), distorted ${rows.map((r) => r.maxGamma.toFixed(0)).join(', ')}`);
    expect(held.maxGamma).toBeLessThan(3);
    expect(rows).toHaveLength(3);
    for (const r of rows) expect(r.maxGamma).toBeGreaterThan(20);
    expect(dist.above).toEqual({ '1.5': 3, '5': 3 });
    // the same number straight from pyace
    const direct = await pyJson<number>(`
import json
from ase.io import read
from pyace import PyACECalculator
calc = PyACECalculator(${JSON.stringify(gen0.potentialYaml)}); calc.set_active_set(${JSON.stringify(gen0.asi)})
a = read(${JSON.stringify(path.join(dir, 'distorted.extxyz'))}, index=1); a.calc = calc; a.get_potential_energy()
print(json.dumps(float(calc.results["gamma"].max())))`);
    expect(rows[1]!.maxGamma).toBeCloseTo(direct, 6);
  });

  it('autopipe gamma prints one line per structure and a summary', async () => {
    const r = await execa(process.execPath, [cli, 'gamma', path.join(dir, 'distorted.extxyz'), '--potential', gen0.potentialYaml, '--threshold', '5'], { cwd: projectRoot, reject: false });
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('index  name                 atoms  max_gamma');
    expect(lines.slice(1, 4).map((l) => l.trim().split(/\s+/).slice(0, 3))).toEqual([['0', 'distorted-0', '8'], ['1', 'distorted-1', '8'], ['2', 'distorted-2', '8']]);
    expect(lines[4]).toMatch(/^3 structures, max gamma \d+\.\d{3}, median \d+\.\d{3}, 3 above 5$/);
    // its results go into a run directory of their own (the default was beside the input structures)
    const results = lines[5]!.replace(/^results /, '');
    expect(path.relative(path.join(projectRoot, 'runs'), results)).toMatch(/^gamma-[^/]+\/gamma\.json$/);
    expect(existsSync(results)).toBe(true);
    rmSync(path.dirname(results), { recursive: true, force: true });
  });
});

describe('selection with the generation-0 potential', () => {
  it('D-optimal selection with the fitted potential and its active set beats random picks on log-determinant', async () => {
    const r = await selectDOptimal({ candidates: data.pool, n: 8, potential: gen0.potentialYaml, workDir: path.join(dir, 'select') });
    expect(r.method).toBe('maxvol');
    expect(r.indices).toHaveLength(8);
    expect(new Set(r.indices).size).toBe(8);
    expect(r.maxvol).toBe(8);
    const ld = await logDets(data.pool, gen0.potentialYaml, r.indices);
    console.log(`log det, fitted basis: D-optimal ${ld.picked.toFixed(1)}, random ${ld.random.map((x) => x.toFixed(1)).join(' ')}`);
    expect(ld.picked).toBeGreaterThan(Math.max(...ld.random));
    // the selected structures, in order, with where they came from
    const frames = await pyJson<{ idx: number[]; by: string[] }>(`
import json
from ase.io import read
f = read(${JSON.stringify(r.output)}, index=":")
print(json.dumps({"idx": [int(a.info["candidate_index"]) for a in f], "by": [a.info["selected_by"] for a in f]}))`);
    expect(frames.idx).toEqual(r.indices);
    expect(new Set(frames.by)).toEqual(new Set(['maxvol']));
  });

});

describe('generation 1: incremental refits versus a fit from scratch', () => {
  let scratch: FitResult;
  let inc: FitResult;
  let grown: FitResult;
  const L0 = () => gen0.metrics.test_loss!;
  const curve = (r: FitResult) => metricsRows(path.join(r.workDir, 'test_metrics.txt'));
  const reach = (r: FitResult) => curve(r).find((row) => row.loss! <= L0())?.iter_num ?? Infinity;

  beforeAll(async () => {
    // the same new data three ways, side by side: from scratch, continuing the same basis, growing it
    const common = { elements: ['Cu'], training: cuTraining(), seed: 7, datasetFile: data.gen1, testDatasetFile: data.testMix, displayStep: 2 };
    [scratch, inc, grown] = await Promise.all([
      fitAce({ ...common, outDir: path.join(dir, 'gen-1-scratch') }),
      fitAce({ ...common, outDir: path.join(dir, 'gen-1'), initialPotential: gen0.potentialYaml }),
      fitAce({ ...common, training: cuTraining({ number_of_functions_per_element: 30 }), maxiter: 6, outDir: path.join(dir, 'gen-1-grown'), initialPotential: gen0.potentialYaml }),
    ]);
  });

  it('continues from generation 0 and reaches its test loss in fewer iterations', () => {
    const incStart = curve(inc)[0]!.loss!;
    console.log(
      `gen-0 test loss ${L0().toExponential(3)}; gen-1 from scratch: reaches it at iteration ${reach(scratch)}, ends at ${scratch.metrics.test_loss!.toExponential(3)} after ${scratch.metrics.iterations} (${scratch.metrics.wall_seconds.toFixed(0)} s); ` +
        `incremental: starts at ${incStart.toExponential(3)}, reaches it at iteration ${reach(inc)}, ends at ${inc.metrics.test_loss!.toExponential(3)} after ${inc.metrics.iterations} (${inc.metrics.wall_seconds.toFixed(0)} s)`,
    );
    expect(scratch.mode).toBe('scratch');
    expect(inc.mode).toBe('continue');
    expect(inc.metrics.iterations).toBe(20); // training.incremental_maxiter
    expect(scratch.metrics.iterations).toBe(40);
    // the warm start is generation 0 itself (ZBL inner cutoff lowered for the new data's closest pair)
    expect(Math.abs(incStart - L0()) / L0()).toBeLessThan(0.02);
    expect(reach(inc)).toBeLessThan(reach(scratch));
    expect(inc.metrics.test_loss!).toBeLessThan(L0());
    const seed = JSON.parse(readFileSync(path.join(dir, 'gen-1', 'check', 'ace-fit-check.log'), 'utf8').trim().split('\n').filter((l) => l.startsWith('{')).pop()!);
    expect(seed.result.seed_potential.lowered_r_in.Cu[1]).toBeLessThan(seed.result.seed_potential.lowered_r_in.Cu[0]);
  });

  it('grows a larger basis from generation 0: new functions start at zero, so the fit starts at its loss', () => {
    expect(grown.mode).toBe('grow');
    expect(grown.functionsPerElement).toEqual({ Cu: 30 });
    const doc = YAML.parse(readFileSync(grown.inputYaml, 'utf8'));
    expect(doc.potential.initial_potential).toBe(path.join(dir, 'gen-1-grown', 'check', 'seed-potential.yaml'));
    expect(doc.potential.functions.number_of_functions_per_element).toBe(30);
    const first = curve(grown)[0]!;
    expect(first.nfuncs).toBe(30);
    expect(Math.abs(first.loss! - L0()) / L0()).toBeLessThan(0.02);
    const train = metricsRows(path.join(grown.workDir, 'metrics.txt'));
    expect(train.at(-1)!.loss!).toBeLessThan(train[0]!.loss!);
  });
});

// A campaign asks for the basis its whole DFT budget supports; its first fits have fewer environments than
// that basis needs for an active set. They fit the largest basis the data supports, and later fits grow it.
describe('a basis that grows with the data (basisFromData)', () => {
  let small: string;
  let first: FitResult;
  let next: FitResult;
  const asked = { training: cuTraining({ number_of_functions_per_element: 30, test_size: 0 }), elements: ['Cu'], seed: 7 };

  beforeAll(async () => {
    small = await emtDataset(dir, 'two-cells', { count: 2, seed: 27 }); // 16 Cu atoms
    first = await fitAce({ ...asked, datasetFile: small, maxiter: 4, outDir: path.join(dir, 'from-data-0'), basisFromData: true });
    next = await fitAce({ ...asked, datasetFile: data.gen0, maxiter: 4, outDir: path.join(dir, 'from-data-1'), initialPotential: first.potentialYaml, basisFromData: true });
  });

  it('without it, a basis larger than the data supports is refused before Pacemaker runs, naming the setting', async () => {
    const out = path.join(dir, 'from-data-refused');
    await expect(fitAce({ ...asked, datasetFile: small, maxiter: 4, outDir: out })).rejects.toThrow(/16 Cu atoms.*number_of_functions_per_element to 16/);
    expect(existsSync(path.join(out, 'fit'))).toBe(false);
  });

  it('fits the largest basis 90 % of the environments support, with an active set, and records it', () => {
    expect(first.basisFromData).toEqual({ asked: 30, used: 14, environments: 16 });
    expect(first.functionsPerElement).toEqual({ Cu: 14 });
    expect(first.metrics.functions_per_element).toBe(14);
    expect(YAML.parse(readFileSync(first.inputYaml, 'utf8')).potential.functions.number_of_functions_per_element).toBe(14);
    expect(existsSync(first.asi!)).toBe(true);
    expect(JSON.parse(readFileSync(path.join(dir, 'from-data-0', 'metrics.json'), 'utf8')).basis_from_data.used).toBe(14);
  });

  it('grows to the basis asked for once the data supports it', () => {
    expect(next.mode).toBe('grow');
    expect(next.basisFromData).toBeUndefined();
    expect(next.functionsPerElement).toEqual({ Cu: 30 });
    expect(metricsRows(path.join(next.workDir, 'metrics.txt'))[0]!.nfuncs).toBe(30);
  });

  it('a fit that was not shrunk keeps its record: the same fit without the flag is not rerun', async () => {
    const started = Date.now();
    const again = await fitAce({ ...asked, datasetFile: data.gen0, maxiter: 4, outDir: path.join(dir, 'from-data-1'), initialPotential: first.potentialYaml });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(again.potentialYaml).toBe(next.potentialYaml);
  });
});


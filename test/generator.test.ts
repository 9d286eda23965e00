// The structure generator on real ASE: the spec's case (exactly `count` structures that differ from the
// input, volumes inside the bounds, 10 generated -> store count 10), every operation mode checked
// independently with ASE, seeded reproducibility, typed failures, and the `autopipe generate` CLI.
import { execa } from 'execa';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CampaignSchema, type Campaign } from '../common/campaign-schema';
import { projectRoot } from '../host/paths';
import { generateStructures } from '../activities/structures/generate';
import { storeInfo } from '../activities/store/store';
import { pyJson } from './helpers/python';

const tmp = (p: string) => mkdtempSync(path.join(os.tmpdir(), `autopipe-gen-${p}-`));
const cli = path.join(projectRoot, 'bin', 'autopipe.mjs');

function campaign(over: Record<string, unknown>): Campaign {
  return CampaignSchema.parse({
    system: { name: 'CuAu', elements: ['Cu', 'Au'], prototype: { kind: 'fcc', a: 3.75, cubic: true }, supercell: [2, 2, 2] },
    ...over,
  });
}

interface Frame {
  id: string;
  mode: string;
  parent: string;
  natoms: number;
  symbols: Record<string, number>;
  volume: number;
  pbc: boolean[];
  dmin: number;
  /** Deformation gradient of the cell relative to the starting supercell. */
  F: number[][];
  maxShift: number | null;
}

/** Independent reading with ASE: ids recomputed from content, nearest distances by ASE's neighbour list. */
async function inspect(file: string, base: string): Promise<{ baseVolume: number; frames: Frame[] }> {
  return pyJson(`
import json, numpy as np
from ase.io import read
from ase.build import bulk
from ase.neighborlist import neighbor_list
from activities.structures.commands import structure_id
base = ${base}
out = []
for a in read(${JSON.stringify(file)}, ':'):
    d = neighbor_list('d', a, 4.0)
    F = np.linalg.solve(base.cell.array, a.cell.array) if a.pbc.all() else np.eye(3)
    shift = float(np.abs(a.positions - base.positions).max()) if len(a) == len(base) else None
    out.append(dict(id=structure_id(a), mode=a.info['config_type'], parent=a.info['parent_id'], natoms=len(a),
                    symbols={s: a.get_chemical_symbols().count(s) for s in set(a.get_chemical_symbols())},
                    volume=a.get_volume() if a.pbc.all() else 0.0, pbc=a.pbc.tolist(), dmin=float(d.min()), F=F.tolist(), maxShift=shift))
print(json.dumps(dict(baseVolume=base.get_volume(), frames=out)))`);
}

describe('generate(input, count): the spec case', () => {
  it('returns exactly count structures that differ from the input, volumes inside the bounds; 10 generated -> store count 10', async () => {
    const runDir = tmp('spec');
    const c = campaign({ generation: { count: 10, rattle_sigma: 0.04, volume_range: [0.9, 1.1], shear_fraction: 0.3, vacancy_fraction: 0 } });
    const r = await generateStructures({ runDir, name: 'spec', system: { ...c.system, elements: ['Cu'], prototype: { kind: 'fcc', a: 3.61, cubic: true } }, generation: c.generation, seed: 3, store: { source: 'initial_random', generation: 0 } });
    expect(r.ids).toHaveLength(10);
    expect(new Set(r.ids).size).toBe(10);
    expect(r.store).toEqual({ store: path.join(runDir, 'store.sqlite'), inserted: 10, existing: 0 });
    expect((await storeInfo({ runDir })).structures).toBe(10);

    const { baseVolume, frames } = await inspect(r.output, "bulk('Cu', 'fcc', a=3.61, cubic=True).repeat((2, 2, 2))");
    expect(frames.map((f) => f.id)).toEqual(r.ids); // the ids are the content hashes of what was written
    for (const f of frames) {
      expect(f.id).not.toBe(r.parentId);
      expect(f.parent).toBe(r.parentId);
      expect(f.maxShift).toBeGreaterThan(0.01);
      const ratio = f.volume / baseVolume;
      expect(ratio).toBeGreaterThanOrEqual(0.9 - 1e-9);
      expect(ratio).toBeLessThanOrEqual(1.1 + 1e-9);
    }
    expect(frames.filter((f) => f.mode === 'shear')).toHaveLength(3);
  });
});

describe('operation modes', () => {
  it('vacancies, interstitials, antisites, shear, surfaces and a random alloy, each as configured', async () => {
    const runDir = tmp('modes');
    const g = {
      count: 20, rattle_sigma: 0.03, volume_range: [0.96, 1.04], shear_max: 0.04, shear_fraction: 0.2, vacancy_fraction: 0.2,
      interstitial_fraction: 0.1, antisite_fraction: 0.1, surface_fraction: 0.1, max_defects: 2, min_distance: 1.7,
      substitution: { Cu: 3, Au: 1 }, surface: { miller: [[1, 1, 1]], layers: 3, vacuum: 6 },
    };
    const c = campaign({ generation: g });
    const r = await generateStructures({ runDir, name: 'modes', system: c.system, generation: c.generation, seed: 11 });
    expect(r.modes).toEqual({ bulk: 6, shear: 4, vacancy: 4, interstitial: 2, antisite: 2, surface: 2 });
    const { baseVolume, frames } = await inspect(r.output, "bulk('Cu', 'fcc', a=3.75, cubic=True).repeat((2, 2, 2))");
    expect(frames).toHaveLength(20);
    const byMode = (m: string) => frames.filter((f) => f.mode === m);
    for (const f of frames) expect(f.dmin).toBeGreaterThanOrEqual(1.7); // min_distance holds, by ASE's own neighbour list
    for (const f of [...byMode('bulk'), ...byMode('shear'), ...byMode('antisite')]) {
      expect(f.natoms).toBe(32);
      expect(f.symbols).toEqual({ Cu: 24, Au: 8 }); // the exact alloy composition, 3:1
    }
    for (const f of byMode('vacancy')) expect([30, 31]).toContain(f.natoms);
    for (const f of byMode('interstitial')) expect([33, 34]).toContain(f.natoms);
    for (const f of byMode('surface')) expect(f.pbc).toEqual([true, true, false]);
    for (const f of frames.filter((x) => x.mode !== 'surface')) {
      const ratio = f.volume / baseVolume;
      expect(ratio).toBeGreaterThanOrEqual(0.96 - 1e-9);
      expect(ratio).toBeLessThanOrEqual(1.04 + 1e-9);
    }
    // Shear: F = s (I + e) with e symmetric and |e_ij| <= shear_max; bulk: F = s I.
    for (const f of byMode('shear')) {
      const s = f.F[0]![0]! + f.F[1]![1]! + f.F[2]![2]!;
      const off = [f.F[0]![1]!, f.F[0]![2]!, f.F[1]![2]!];
      expect(Math.max(...off.map(Math.abs))).toBeGreaterThan(1e-4);
      for (const [i, j] of [[0, 1], [0, 2], [1, 2]] as const) expect(f.F[i]![j]).toBeCloseTo(f.F[j]![i]!, 12);
      for (const x of off) expect(Math.abs(x) / (s / 3)).toBeLessThanOrEqual(0.04 * 1.05); // s/3 estimates s to within tr(e)/3
    }
    for (const f of byMode('bulk')) expect(Math.abs(f.F[0]![1]!)).toBeLessThan(1e-12);
  });

  it('antisites swap unlike atoms on a two-species lattice (rocksalt NaCl): 2k sites change species', async () => {
    const c = CampaignSchema.parse({
      system: { name: 'NaCl', elements: ['Na', 'Cl'], prototype: { kind: 'rocksalt', a: 5.64, cubic: true } },
      generation: { count: 4, antisite_fraction: 1, shear_fraction: 0, vacancy_fraction: 0, max_defects: 2, min_distance: 1.5 },
    });
    const r = await generateStructures({ runDir: tmp('antisite'), name: 'a', system: c.system, generation: c.generation, seed: 4 });
    const swaps = await pyJson<number[]>(`
import json
from ase.io import read
from ase.build import bulk
base = bulk('NaCl', 'rocksalt', a=5.64, cubic=True)
print(json.dumps([int((a.numbers != base.numbers).sum()) for a in read(${JSON.stringify(r.output)}, ':')]))`);
    expect(swaps).toHaveLength(4);
    for (const n of swaps) expect([2, 4]).toContain(n); // one or two swapped pairs; composition unchanged
  });

  it('the same seed gives a byte-identical file; another seed other structures', async () => {
    const c = campaign({ generation: { count: 8, vacancy_fraction: 0.25, substitution: { Cu: 1, Au: 1 } } });
    const [a, b, d] = await Promise.all([
      generateStructures({ runDir: tmp('seed-a'), name: 'x', system: c.system, generation: c.generation, seed: 5 }),
      generateStructures({ runDir: tmp('seed-b'), name: 'x', system: c.system, generation: c.generation, seed: 5 }),
      generateStructures({ runDir: tmp('seed-c'), name: 'x', system: c.system, generation: c.generation, seed: 6 }),
    ]);
    expect(readFileSync(a.output)).toEqual(readFileSync(b.output));
    expect(a.ids).toEqual(b.ids);
    expect(d.ids.filter((id) => a.ids.includes(id))).toEqual([]);
  });

  it('rejects and counts structures with atoms too close, still returning exactly count', async () => {
    const c = campaign({ generation: { count: 6, rattle_sigma: 0.2, min_distance: 1.9, shear_fraction: 0, vacancy_fraction: 0 } });
    const r = await generateStructures({ runDir: tmp('reject'), name: 'r', system: { ...c.system, elements: ['Cu'] }, generation: c.generation, seed: 1 });
    expect(r.ids).toHaveLength(6);
    expect(r.rejected).toBeGreaterThan(0);
    const { frames } = await inspect(r.output, "bulk('Cu', 'fcc', a=3.75, cubic=True).repeat((2, 2, 2))");
    for (const f of frames) expect(f.dmin).toBeGreaterThanOrEqual(1.9);
  });

  it('starts from any ASE-readable file (here a VASP POSCAR)', async () => {
    const dir = tmp('file');
    const poscar = path.join(dir, 'POSCAR');
    await pyJson(`
from ase.build import bulk
from ase.io import write
write(${JSON.stringify(poscar)}, bulk('Si', 'diamond', a=5.43, cubic=True), format='vasp')
print('{}')`);
    const c = CampaignSchema.parse({ system: { name: 'Si', elements: ['Si'], structure_file: poscar }, generation: { vacancy_fraction: 0 } });
    const r = await generateStructures({ runDir: dir, name: 'poscar', system: c.system, generation: { ...c.generation, count: 4 }, seed: 2 });
    expect(r.natoms).toBe(8);
    expect(r.ids).toHaveLength(4);
  });
});

describe('typed failures', () => {
  it('a recipe that cannot give count distinct structures names the knobs to turn', async () => {
    const c = campaign({ generation: { count: 3, rattle_sigma: 0, volume_range: [1, 1.0000001], shear_fraction: 0, vacancy_fraction: 0 } });
    const err = await generateStructures({ runDir: tmp('dup'), name: 'd', system: { ...c.system, elements: ['Cu'] }, generation: { ...c.generation, volume_range: [1, 1] }, seed: 1 }).catch((e) => e);
    expect(err.type).toBe('InvalidConfig');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/could generate only 0 of 3 structures \(0 rejected by min_distance 1.5 Å, \d+ duplicates\): lower generation.min_distance or rattle_sigma, or widen volume_range/);
  });

  it('antisites on a one-species lattice, a missing start file, an unknown species in the file', async () => {
    const dir = tmp('fail');
    const c = campaign({ generation: { count: 2, antisite_fraction: 0.5 } });
    const one = await generateStructures({ runDir: dir, name: 'a', system: { ...c.system, elements: ['Cu'] }, generation: c.generation, seed: 1 }).catch((e) => e);
    expect(one.type).toBe('InvalidConfig');
    expect(one.message).toContain('antisite defects need at least two species on the lattice');

    const missing = path.join(dir, 'nope.cif');
    const nofile = await generateStructures({ runDir: dir, name: 'b', system: { ...c.system, structure_file: missing, prototype: undefined }, generation: { ...c.generation, antisite_fraction: 0 }, seed: 1 }).catch((e) => e);
    expect(nofile.type).toBe('InvalidInput');
    expect(nofile.message).toContain(`structure file not found: ${missing}`);

    const weird = path.join(dir, 'weird.extxyz');
    writeFileSync(weird, '2\nLattice="4 0 0 0 4 0 0 0 4" Properties=species:S:1:pos:R:3 pbc="T T T"\nCu 0 0 0\nQq 2 2 2\n');
    const unknown = await generateStructures({ runDir: dir, name: 'c', system: { ...c.system, structure_file: weird, prototype: undefined }, generation: { ...c.generation, antisite_fraction: 0 }, seed: 1 }).catch((e) => e);
    expect(unknown.type).toBe('InvalidInput');
    expect(unknown.message).toContain(`cannot read structure [0] from ${weird}: unknown element 'Qq'`);
  });

  it('a campaign whose shares sum to more than 1 is rejected by the schema', () => {
    const r = CampaignSchema.safeParse({ system: { name: 'Cu', elements: ['Cu'], prototype: { kind: 'fcc', a: 3.6 } }, generation: { shear_fraction: 0.6, vacancy_fraction: 0.6 } });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(['generation', 'shear_fraction']);
    expect(r.error!.issues[0]!.message).toBe('the *_fraction shares sum to 1.2, more than 1');
  });
});

describe('autopipe generate', () => {
  it('writes extxyz, inserts idempotently, and refuses a conflicting re-insert with nothing written', async () => {
    const dir = tmp('cli');
    const file = path.join(dir, 'c.yaml');
    writeFileSync(file, `id: gen-cli\nrun_directory: ./run\nsystem:\n  name: Cu\n  elements: [Cu]\n  prototype: {kind: fcc, a: 3.61, cubic: true}\n  supercell: [2, 2, 2]\ngeneration:\n  count: 10\n`);
    const run = (args: string[]) => execa(process.execPath, [cli, 'generate', '--config', file, ...args], { reject: false });
    const first = await run(['--insert']);
    expect(first.stderr).toBe('');
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toMatch(/^10 structures \(31-32 atoms; bulk 6, shear 3, vacancy 1\) -> .*run\/structures\/gen-0-seed-42\.extxyz$/m);
    expect(first.stdout).toContain(`store ${path.join(dir, 'run', 'store.sqlite')}: 10 inserted, 0 already there`);
    const again = await run(['--insert']);
    expect(again.stdout).toContain('0 inserted, 10 already there');
    const conflict = await run(['--insert', '--generation', '2']);
    expect(conflict.exitCode).toBe(1);
    expect(conflict.stderr).toMatch(/^autopipe generate: DuplicateStructure: structure [0-9a-f]{20} .* is already stored as source=initial_random generation=0; refusing to record it again as source=initial_random generation=2 \(nothing was written/);
    expect((await storeInfo({ runDir: path.join(dir, 'run') })).by_generation).toEqual({ '0': 10 });
    const usage = await run(['--count', 'ten']);
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr).toContain('--count must be an integer from 1 to 100000 (got "ten")');
  });

  it('a --json result larger than a pipe buffer reaches the pipe whole (the CLI flushes before it exits)', async () => {
    const dir = tmp('cli-json');
    // Through a shell pipeline whose reader starts late (as `autopipe status --json | jq` may): the pipe fills, the rest waits in the CLI.
    const cmd = [process.execPath, cli, 'generate', '--config', path.join(projectRoot, 'examples', 'si-demo.yaml'), '--count', '3000', '--out', path.join(dir, 'g.extxyz'), '--json'];
    const reader = `while [ ! -s '${path.join(dir, 'g.extxyz')}' ]; do sleep 0.2; done; sleep 2; cat`; // once the CLI has printed
    const r = await execa('sh', ['-c', `${cmd.map((a) => `'${a}'`).join(' ')} | (${reader})`], { reject: false });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(65536); // more than Linux's default pipe buffer
    expect((JSON.parse(r.stdout) as { ids: string[] }).ids).toHaveLength(3000);
  });
});

// The provenance store on real tools: structures from the generator, DFT labels from real pw.x runs
// (written into the store by activities/dft/qe.ts as they are produced), a second oracle (ASE's Lennard-Jones), queries the workflows need,
// `ase db` reading the same file, typed failures that write nothing, and concurrent writers.
import { execa } from 'execa';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CampaignSchema, DftSchema } from '../common/campaign-schema';
import { venvTool } from '../host/paths';
import { recordDftFailure } from '../activities/dft/failures';
import { dftLabel, type DftLabel } from '../activities/dft/qe';
import { addLabelFiles, addLabels, exportStructures, insertStructures, queryStore, storeInfo, storeLabels } from '../activities/store/store';
import { generateStructures } from '../activities/structures/generate';
import { py, pyJson } from './helpers/python';

const tmp = (p: string) => mkdtempSync(path.join(os.tmpdir(), `autopipe-store-${p}-`));
const si = CampaignSchema.parse({
  system: { name: 'Si', elements: ['Si'], prototype: { kind: 'diamond', a: 5.43 } },
  generation: { count: 6, rattle_sigma: 0.05, volume_range: [0.97, 1.03], vacancy_fraction: 0 },
});
const dft = DftSchema.parse({ pseudopotentials: { Si: 'Si.pz-vbc.UPF' }, ecutwfc: 18, smearing: 'none', kspacing: 0.09 });

/** Ids of a file, by the helper's own hash. */
async function idsOf(file: string): Promise<string[]> {
  return pyJson(`
import json
from ase.io import read
from activities.structures.commands import structure_id
print(json.dumps([structure_id(a) for a in read(${JSON.stringify(file)}, ':')]))`);
}

let runDir: string;
let gen0: { output: string; ids: string[] };
let gen1: { file: string; ids: string[] };

beforeAll(async () => {
  runDir = tmp('run');
  gen0 = await generateStructures({ runDir, name: 'gen0', system: si.system, generation: si.generation, seed: 1, store: { source: 'initial_random', generation: 0 } });
  const g1 = await generateStructures({ runDir, name: 'gen1', system: si.system, generation: { ...si.generation, count: 4 }, seed: 2 });
  gen1 = { file: g1.output, ids: g1.ids };
  await insertStructures({ runDir, file: gen1.file, source: 'md_halt', generation: 1, parentId: gen0.ids[0] });
});

describe('structures and provenance', () => {
  it('answers the workflow queries by generation, source and accumulation', async () => {
    expect(await queryStore({ runDir, filter: { generation: 1 } })).toEqual({ count: 4, ids: gen1.ids, truncated: false });
    expect((await queryStore({ runDir, filter: { source: 'initial_random' } })).ids).toEqual(gen0.ids);
    expect((await queryStore({ runDir, filter: { generationMax: 1 } })).ids).toEqual([...gen0.ids, ...gen1.ids]);
    expect(await queryStore({ runDir, filter: { generations: [0, 1] }, limit: 3 })).toEqual({ count: 10, ids: gen0.ids.slice(0, 3), truncated: true });
    const info = await storeInfo({ runDir });
    expect(info).toMatchObject({ structures: 10, by_generation: { '0': 6, '1': 4 }, by_source: { initial_random: 6, md_halt: 4 }, unlabelled: 10, elements: ['Si'] });
  });

  it('is an ASE database: `ase db` filters by provenance and ASE reads the rows back exactly', async () => {
    const r = await execa(venvTool('ase'), ['db', path.join(runDir, 'store.db'), 'source=md_halt,generation=1', '-c', 'id,formula,source,generation,parent']);
    expect(r.stdout).toContain('Rows: 4');
    expect(r.stdout).toContain(`md_halt`);
    expect(r.stdout).toContain(gen0.ids[0]!);
    const same = await py(`
import numpy as np
from ase.db import connect
from ase.io import read
db = connect(${JSON.stringify(path.join(runDir, 'store.sqlite'))}, type='db')
rows = {r.unique_id: r.toatoms() for r in db.select(source='initial_random')}
ok = [np.array_equal(rows[a.info['structure_id']].positions, a.positions) and np.array_equal(rows[a.info['structure_id']].cell.array, a.cell.array)
      for a in read(${JSON.stringify(gen0.output)}, ':')]
print(len(ok), all(ok))`);
    expect(same).toBe('6 True');
  });

  it('keeps provenance that reads as a number (activity id "3", a hash "0012e5...") although ase db refuses such text', async () => {
    const dir = tmp('numeric');
    await insertStructures({ runDir: dir, file: gen1.file, source: '2024', generation: 0, parentId: '0012e5', split: 'test' });
    expect((await queryStore({ runDir: dir, filter: { source: '2024' } })).ids).toEqual(gen1.ids);
    const kv = await py(`
from ase.db import connect
r = next(connect(${JSON.stringify(path.join(dir, 'store.sqlite'))}, type='db').select(limit=1))
print(repr(r.source), repr(r.parent))`);
    expect(kv).toBe("2024 '#0012e5'");
  });

  it('materialises ids as an exact extxyz for an oracle, in the order asked', async () => {
    const ids = [gen1.ids[2]!, gen0.ids[4]!];
    const out = path.join(runDir, 'pick.extxyz');
    expect(await exportStructures({ runDir, ids, output: out })).toEqual({ output: out, ids, count: 2 });
    expect(await idsOf(out)).toEqual(ids); // content hashes of what was written: bit-identical positions and cell
  });
});

describe('labels', () => {
  let labels: DftLabel[] = [];
  let labelFiles: string[] = [];

  beforeAll(async () => {
    const refs = await Promise.all([0, 1].map((i) => dftLabel({ runDir, structureId: gen0.ids[i]!, structureFile: gen0.output, index: i, dft })));
    labelFiles = refs.map((r) => r.labelFile);
    labels = labelFiles.map((f) => JSON.parse(readFileSync(f, 'utf8')) as DftLabel);
  });

  it('dftLabel writes its label into the store as pw.x produces it (oracle dft, settings hash = labelKey); its raw record agrees', async () => {
    // The raw records pw.x left beside its attempts hold the same labels: ingesting them again adds nothing.
    expect(await addLabelFiles({ runDir, labelFiles })).toEqual({ inserted: 0, existing: 2, skipped: 0, replaced: 0, count: 2 });
    // A second call finds the stored label and runs no pw.x.
    const again = await dftLabel({ runDir, structureId: gen0.ids[0]!, structureFile: gen0.output, index: 0, dft });
    expect(again).toMatchObject({ reused: true, energy: labels[0]!.energy, labelKey: labels[0]!.labelKey });
    const stored = await storeLabels({ runDir, ids: [gen0.ids[0]!] });
    expect(stored[gen0.ids[0]!]).toEqual([expect.objectContaining({ oracle: 'dft', settingsHash: labels[0]!.labelKey, energy: labels[0]!.energy, flag: null })]);
    expect((await queryStore({ runDir, filter: { oracle: 'dft' } })).ids).toEqual(gen0.ids.slice(0, 2));
    expect((await queryStore({ runDir, filter: { labelState: 'unlabelled', oracle: 'dft' } })).count).toBe(8);
  });

  it('keeps a second oracle beside DFT without overwriting, and infinite uncertainty for what it cannot judge', async () => {
    // ASE's Lennard-Jones calculator as a second, real oracle on the same structures.
    const lj = await pyJson<{ e: number; f: number[][]; s: number[] }[]>(`
import json
from ase.io import read
from ase.calculators.lj import LennardJones
out = []
for a in read(${JSON.stringify(gen0.output)}, ':2'):
    a.calc = LennardJones(sigma=2.1, epsilon=0.1, rc=5.0)
    out.append(dict(e=a.get_potential_energy(), f=a.get_forces().tolist(), s=a.get_stress().tolist()))
print(json.dumps(out))`);
    const ljLabels = lj.map((l, i) => ({ structureId: gen0.ids[i]!, oracle: 'lj', settingsHash: 'sigma2.1-eps0.1', energy: l.e, forces: l.f, stress: l.s, uncertainty: 0.01 }));
    const flagged = { structureId: gen0.ids[2]!, oracle: 'lj', settingsHash: 'sigma2.1-eps0.1', flag: 'overlapping_atoms', uncertainty: Infinity };
    expect(await addLabels({ runDir, labels: [...ljLabels, flagged] })).toMatchObject({ inserted: 3, existing: 0 });
    const both = await storeLabels({ runDir, ids: [gen0.ids[0]!, gen0.ids[2]!] });
    expect(both[gen0.ids[0]!]!.map((l) => [l.oracle, l.energy])).toEqual([['dft', labels[0]!.energy], ['lj', lj[0]!.e]]);
    expect(both[gen0.ids[2]!]).toEqual([expect.objectContaining({ oracle: 'lj', energy: null, uncertainty: Infinity, flag: 'overlapping_atoms' })]);
    expect((await queryStore({ runDir, filter: { labelState: 'flagged', oracle: 'lj' } })).ids).toEqual([gen0.ids[2]]);
    expect((await queryStore({ runDir, filter: { labelState: 'labelled' } })).count).toBe(2);
    // The ase-db summary keys mirror the newest label per oracle.
    const kv = await py(`
from ase.db import connect
r = connect(${JSON.stringify(path.join(runDir, 'store.sqlite'))}, type='db').get(unique_id=${JSON.stringify(gen0.ids[0])})
print(r.dft_energy == ${labels[0]!.energy}, r.lj_energy == ${lj[0]!.e}, r.lj_fstd)`);
    expect(kv).toBe('True True 0.01');
  });

  it('a different value under an existing key is a LabelConflict and nothing of the batch is written', async () => {
    const before = await storeInfo({ runDir });
    const changed = { structureId: gen0.ids[0]!, oracle: 'dft', settingsHash: labels[0]!.labelKey, energy: labels[0]!.energy + 0.001, forces: labels[0]!.forces, stress: labels[0]!.stress };
    const fresh = { structureId: gen0.ids[3]!, oracle: 'lj', settingsHash: 'sigma2.1-eps0.1', flag: 'not judged' };
    const err = await addLabels({ runDir, labels: [fresh, changed] }).catch((e) => e);
    expect(err.type).toBe('LabelConflict');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain(`structure ${gen0.ids[0]} already has a different dft label with settings ${labels[0]!.labelKey}`);
    expect(await storeInfo({ runDir })).toEqual(before);
    expect((await storeLabels({ runDir, ids: [gen0.ids[3]!] }))[gen0.ids[3]!]).toEqual([]);
  });

  it('a DFT failure record becomes a flagged label, replaced when a real label for the same key arrives', async () => {
    const id = gen0.ids[4]!;
    const failed = await recordDftFailure({ runDir, structureId: id, structureFile: gen0.output, index: 4, dft, reason: 'ScfNotConverged: convergence NOT achieved after 100 iterations', attempts: 4 });
    expect(await addLabelFiles({ runDir, labelFiles: [failed] })).toMatchObject({ inserted: 0, existing: 1 }); // already recorded
    expect((await queryStore({ runDir, filter: { labelState: 'flagged', oracle: 'dft' } })).ids).toEqual([id]);
    const real = await dftLabel({ runDir, structureId: id, structureFile: gen0.output, index: 4, dft });
    expect(real.reused).toBe(false); // a flagged failure is no label: pw.x runs again
    expect(await addLabelFiles({ runDir, labelFiles: [real.labelFile] })).toMatchObject({ inserted: 0, existing: 1 });
    const now = (await storeLabels({ runDir, ids: [id] }))[id]!;
    expect(now).toEqual([expect.objectContaining({ oracle: 'dft', energy: real.energy, flag: null })]);
  });

  it('labels for a structure the store does not hold are refused', async () => {
    const err = await addLabels({ runDir, labels: [{ structureId: 'ffffffffffffffffffff', oracle: 'lj', settingsHash: 'x', flag: 'n/a' }] }).catch((e) => e);
    expect(err.type).toBe('InvalidInput');
    expect(err.message).toContain('structure ffffffffffffffffffff is not in the store');
  });
});

describe('bad input: a typed error naming the file and field, and nothing written', () => {
  // Each bad file holds a valid structure first: a refused batch must not store that one either.
  const good = "bulk('Si', 'diamond', a=5.5)";
  const cases: [string, string, string, RegExp][] = [
    ['NaN position', `[${good}, (lambda a: (a.positions.__setitem__((1, 0), np.nan), a)[1])(bulk('Si', 'diamond', a=5.43))]`, 'InvalidInput', /frame 1: positions contain NaN or infinite values \(atoms \[1\]\)/],
    ['zero-volume cell', `[${good}, Atoms('Si2', positions=[[0, 0, 0], [1.3, 1.3, 0]], cell=[[4, 0, 0], [0, 4, 0], [4, 4, 0]], pbc=True)]`, 'InvalidInput', /frame 1: the cell is singular \(zero volume\) along a periodic direction/],
    ['overlapping atoms', `[${good}, Atoms('Si2', positions=[[0, 0, 0], [0.3, 0, 0]], cell=[5, 5, 5], pbc=True)]`, 'UnphysicalStructure', /frame 1: atoms are 0\.300 Å apart, closer than the minimum 0\.5 Å \(overlapping atoms\)/],
    ['element outside the campaign', `[${good}, Atoms('Ge2', positions=[[0, 0, 0], [1.4, 1.4, 1.4]], cell=[5.6, 5.6, 5.6], pbc=True)]`, 'InvalidInput', /frame 1: element Ge is not in the campaign's elements \['Si'\]/],
  ];
  let dir: string;
  let before: Awaited<ReturnType<typeof storeInfo>>;
  const fileOf = (i: number) => path.join(dir, `bad-${i}.extxyz`);

  beforeAll(async () => {
    dir = tmp('bad');
    await py(`
import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.io import write
${cases.map(([, frames], i) => `write(${JSON.stringify(fileOf(i))}, ${frames}, format='extxyz')`).join('\n')}
print('ok')`);
    before = await storeInfo({ runDir });
  });

  cases.forEach(([name, , type, message], i) => {
    it(name, async () => {
      const err = await insertStructures({ runDir, file: fileOf(i), source: 'imported', generation: 3, elements: ['Si'] }).catch((e) => e);
      expect(err.type).toBe(type);
      expect(err.nonRetryable).toBe(true);
      expect(err.message).toContain(fileOf(i));
      expect(err.message).toMatch(message);
    });
  });

  it('unknown element and unreadable files', async () => {
    const unknown = path.join(dir, 'qq.extxyz');
    writeFileSync(unknown, '2\nLattice="5 0 0 0 5 0 0 0 5" Properties=species:S:1:pos:R:3 pbc="T T T"\nSi 0 0 0\nQq 1 1 1\n');
    const garbage = path.join(dir, 'junk.extxyz');
    writeFileSync(garbage, Buffer.from([0x00, 0x01, 0x02, 0xff, 0x0a, 0x41]));
    const missing = path.join(dir, 'missing.extxyz');
    const e1 = await insertStructures({ runDir, file: unknown, source: 'imported', generation: 3 }).catch((e) => e);
    expect([e1.type, e1.message]).toEqual(['InvalidInput', expect.stringContaining(`cannot read frame 0 from ${unknown}: unknown element 'Qq'; use real chemical symbols`)]);
    const e2 = await insertStructures({ runDir, file: garbage, source: 'imported', generation: 3 }).catch((e) => e);
    expect([e2.type, e2.message]).toEqual(['InvalidInput', expect.stringContaining(`cannot read frame 0 from ${garbage}`)]);
    const e3 = await insertStructures({ runDir, file: missing, source: 'imported', generation: 3 }).catch((e) => e);
    expect([e3.type, e3.message]).toEqual(['InvalidInput', expect.stringContaining(`structure file not found: ${missing}`)]);
  });

  it('none of the refused files left anything in the store', async () => {
    expect(await storeInfo({ runDir })).toEqual(before);
  });

  it('duplicate insert: same provenance is a no-op, different provenance a DuplicateStructure (or skipped on request)', async () => {
    expect(await insertStructures({ runDir, file: gen1.file, source: 'md_halt', generation: 1, parentId: gen0.ids[0] })).toMatchObject({ inserted: 0, existing: 4 });
    const before = await storeInfo({ runDir });
    const err = await insertStructures({ runDir, file: gen1.file, source: 'active_learning_iter_3', generation: 3 }).catch((e) => e);
    expect(err.type).toBe('DuplicateStructure');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain(`structure ${gen1.ids[0]} (${gen1.file} frame 0) is already stored as source=md_halt generation=1`);
    expect(await storeInfo({ runDir })).toEqual(before);
    expect(await insertStructures({ runDir, file: gen1.file, source: 'active_learning_iter_3', generation: 3, onDuplicate: 'skip' })).toMatchObject({ inserted: 0, skipped: 4 });
  });

  it('a file that is not a store is refused, not overwritten', async () => {
    const dir = tmp('notstore');
    writeFileSync(path.join(dir, 'store.sqlite'), 'this is not sqlite, just text that happens to be long enough to look like a header..........');
    const err = await storeInfo({ runDir: dir }).catch((e) => e);
    expect(err.type).toBe('InvalidInput');
    expect(err.message).toContain(`${path.join(dir, 'store.sqlite')} is not a readable store (file is not a database)`);
  });
});

describe('concurrency', () => {
  it('parallel writers into one store all land (WAL, write lock taken up front)', async () => {
    const dir = tmp('parallel');
    const files = await Promise.all([11, 12, 13, 14].map(async (seed) => (await generateStructures({ runDir: dir, name: `p${seed}`, system: si.system, generation: si.generation, seed })).output));
    const results = await Promise.all(files.map((file, i) => insertStructures({ runDir: dir, file, source: 'initial_random', generation: i })));
    expect(results.map((r) => r.inserted)).toEqual([6, 6, 6, 6]);
    expect((await storeInfo({ runDir: dir })).by_generation).toEqual({ '0': 6, '1': 6, '2': 6, '3': 6 });
  });
});

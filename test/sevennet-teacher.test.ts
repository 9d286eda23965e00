// SevenNet-0 as a campaign's zero-shot teacher, on real tools: the energy reference its bootstrap fits on
// DFT labels (PBE Si of bench/testsets/si-pbe.extxyz, pw.x with Debian's PBE pseudopotential), then the
// tiered-oracle workflow a campaign routes MD candidates with, run through Temporal on the ml queue (the
// worker's own SevenNet helper server, apart from MACE's e3nn 0.4). Labels are checked against a direct
// SevenNetCalculator call plus the fitted shift, independently of the engine code.
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maceScore } from '../activities/mace/label';
import { fitSevennetReference, type SevennetReferenceResult } from '../activities/mace/sevennet-reference';
import { TaskQueues } from '../common/queues';
import { pythonPath } from '../host/paths';
import { tieredOracleWorkflow, type TieredOracleResult } from '../workflows/teacher';
import { pyJson } from './helpers/python';
import { storedLabels } from './helpers/store';
import { startTestWorkers, testClient } from './helpers/temporal';

const testset = path.join(pythonPath, 'bench', 'testsets', 'si-pbe.extxyz');
const runDir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-sevennet-'));
let seeds: string; // DFT labels as the dataset writer gives them (REF_energy, REF_forces)
let pool: { file: string; ids: string[] };
let ref: SevennetReferenceResult;
let stop: () => Promise<void>;

beforeAll(async () => {
  stop = await startTestWorkers(['control', 'ml']);
  seeds = path.join(runDir, 'seeds.extxyz');
  // Frames 0-3 are the "seed" DFT labels the reference is fitted on; frames 4-9 the structures to label.
  pool = await pyJson(`
import json
from ase.io import read, write
from activities.structures.commands import structure_id, write_frames
frames = read(${JSON.stringify(testset)}, ':10')
seeds = []
for a in frames[:4]:
    b = a.copy(); b.info = {'REF_energy': a.get_potential_energy()}; b.arrays['REF_forces'] = a.get_forces(); seeds.append(b)
write(${JSON.stringify(path.join(runDir, 'seeds.extxyz'))}, seeds, format='extxyz')
rest = []
for a in frames[4:]:
    b = a.copy(); b.calc = None; b.info = {'structure_id': structure_id(b)}; rest.append(b)
write_frames(${JSON.stringify(path.join(runDir, 'pool.extxyz'))}, [(b, dict(b.info)) for b in rest])
print(json.dumps({'file': ${JSON.stringify(path.join(runDir, 'pool.extxyz'))}, 'ids': [b.info['structure_id'] for b in rest]}))`);
}, 120_000);
afterAll(async () => stop?.());

describe('SevenNet-0 teacher (zero-shot, energy reference from seed DFT labels)', () => {
  it('fits a per-element energy shift that puts its energies on the DFT zero, weights untouched', { timeout: 180_000 }, async () => {
    ref = await fitSevennetReference({ dataset: seeds, output: path.join(runDir, 'teacher', 'gen-0', 'sevennet-reference.json') });
    expect(Object.keys(ref.shift)).toEqual(['Si']);
    // QE's Si (PBE pseudopotential) and MPtrj's VASP zero are ~100 eV/atom apart; after the shift a few tens of meV/atom remain.
    expect(Math.abs(ref.shift.Si!)).toBeGreaterThan(10);
    expect(ref.energyRmseBeforeShift).toBeGreaterThan(10_000);
    expect(ref.energyRmseAfterShift).toBeLessThan(100);
    const file = JSON.parse(readFileSync(ref.reference, 'utf8'));
    expect(file).toMatchObject({ kind: 'sevennet-reference', model: '7net-0', shift_ev_atom: ref.shift });
    // Scored with the reference, as the campaign's gate does: the same energy error as the fit left on the seeds.
    const s = await maceScore({ kind: 'sevennet', models: [ref.reference], dataset: seeds, workDir: runDir });
    expect(s.n).toBe(4);
    expect(s.rmse_energy_mev_atom).toBeCloseTo(ref.energyRmseAfterShift, 1);
    expect(s.rmse_forces_mev_a).toBeGreaterThan(10);
    expect(s.rmse_forces_mev_a).toBeLessThan(1000);
  });

  let r: TieredOracleResult;
  it('labels MD-like structures through the tiered-oracle workflow, routed by ACE gamma, into the store as "sevennet"', { timeout: 240_000 }, async () => {
    const client = await testClient();
    const gamma = [0.5, 1.2, 2.5, 7.0, 0.9, null];
    r = await client.workflow.execute(tieredOracleWorkflow, {
      taskQueue: TaskQueues.control,
      workflowId: `sevennet-oracle-${Date.now()}`,
      args: [{ runDir, name: 'gen-0-md', structureFile: pool.file, ids: pool.ids, gamma, teacher: { kind: 'sevennet', gamma_accept_threshold: 1.5, gamma_dft_threshold: 5, between: 'discard' }, models: [ref.reference], dft: {}, dftLimit: 0 }],
    });
    expect(r.uncertaintySource).toBe('ace_gamma');
    expect(r.oracle).toMatchObject({ kind: 'sevennet', size: 1 });
    const m = JSON.parse(readFileSync(r.manifest, 'utf8'));
    expect(m.items.map((i: { route: string }) => i.route)).toEqual(['accept', 'accept', 'discard', 'queue', 'accept', 'queue']);
    const accepted = m.items.filter((i: { engine: string }) => i.engine === 'sevennet');
    expect(accepted).toHaveLength(3);
    expect(new Set(accepted.map((i: { settingsHash: string }) => i.settingsHash))).toEqual(new Set([r.oracle.key]));
  });

  it('stores what SevenNetCalculator computes plus the fitted shift, under a key apart from SevenNet\'s raw scale', { timeout: 180_000 }, async () => {
    const stored = await storedLabels(runDir, pool.ids, 'sevennet');
    for (const id of pool.ids) expect(stored[id]).toHaveLength(1); // every structure labelled once, discarded ones too
    const d = await pyJson<{ maxE: number; maxF: number }>(`
import json, sys, os, numpy as np
sys.path.insert(0, os.path.join(sys.prefix, 'overlays', 'sevenn'))
from ase.io import read
from sevenn.calculator import SevenNetCalculator
calc = SevenNetCalculator(model='7net-0', device='cpu')
stored = json.loads(${JSON.stringify(JSON.stringify(stored))})
m = {'maxE': 0.0, 'maxF': 0.0}
for a, sid in zip(read(${JSON.stringify(pool.file)}, ':'), ${JSON.stringify(pool.ids)}):
    L = stored[sid][-1]
    a.calc = calc
    m['maxE'] = max(m['maxE'], abs(a.get_potential_energy() + ${ref.shift.Si} * len(a) - L['energy']) / len(a))
    m['maxF'] = max(m['maxF'], float(np.abs(a.get_forces() - np.array(L['forces'])).max()))
print(json.dumps(m))`);
    expect(d.maxE).toBeLessThan(1e-5);
    expect(d.maxF).toBeLessThan(1e-4);
    const prov = stored[pool.ids[0]!]![0]!.provenance;
    expect(prov).toMatchObject({ oracle: 'sevennet', committee_size: 1 });
    expect(prov.version).toMatch(/^sevenn 0\.13\.\d+, weights 7net-0, DFT energy reference$/);
    // The raw scale (no reference) is another label: a different key.
    const raw = await maceScore({ kind: 'sevennet', models: [], dataset: seeds, workDir: runDir });
    expect(raw.oracle_key).not.toBe(r.oracle.key);
    expect(raw.rmse_energy_mev_atom).toBeGreaterThan(10_000);
  });
});

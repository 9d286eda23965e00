// One real tiered-oracle run through Temporal: the shared MACE committee judges a pool, confident
// structures keep their MACE labels, uncertain ones go to pw.x (capped), overlapping atoms are rejected,
// and the manifest and the run's store say which engine labelled each structure. Then a single model
// routed by ACE extrapolation grades, which the result says.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportDataset } from '../activities/store/datasets';
import { maceLabelBatch } from '../activities/mace/label';
import { storeLabels } from '../activities/store/store';
import { TaskQueues } from '../common/queues';
import { tieredOracleWorkflow, type TieredOracleResult } from '../workflows/teacher';
import { pyJson } from './helpers/python';
import { storedLabels } from './helpers/store';
import { startTestWorkers, testClient } from './helpers/temporal';
import { fixtureCampaign, sharedCommittee, type CommitteeFixture } from './mace-fixture';

interface Pool {
  file: string;
  ids: string[];
  kinds: ('near' | 'far' | 'overlap')[];
}

/** Near-training cells, strongly rattled ones and one with overlapping atoms; ids are content hashes. */
async function makePool(fx: CommitteeFixture, file: string): Promise<Pool> {
  return pyJson<Pool>(`
import json, numpy as np
from ase.io import read
from activities.structures.commands import structure_id, write_frames
from activities.structures.reading import min_distance
base = read(${JSON.stringify(fx.structuresFile)}, 0); base.info.clear()
rng = np.random.default_rng(5)
frames, kinds = [], []
def add(a, kind):
    a.info['structure_id'] = structure_id(a); frames.append(a); kinds.append(kind)
for _ in range(5):
    a = base.copy(); a.positions += rng.normal(0, 0.03, a.positions.shape); add(a, 'near')
n = 0
while n < 3:
    a = base.copy(); a.positions += rng.normal(0, 0.25, a.positions.shape)
    if min_distance(a) > 1.7:
        add(a, 'far'); n += 1
o = base.copy(); o.positions[2] = o.positions[3] + [0.2, 0.0, 0.0]; add(o, 'overlap')
write_frames(${JSON.stringify(file)}, [(a, dict(a.info)) for a in frames])
print(json.dumps({'file': ${JSON.stringify(file)}, 'ids': [a.info['structure_id'] for a in frames], 'kinds': kinds}))`);
}

let stop: () => Promise<void>;
let fx: CommitteeFixture;
beforeAll(async () => {
  stop = await startTestWorkers(['control', 'dft', 'ml'], { ml: 2 });
  fx = await sharedCommittee();
});
afterAll(async () => stop?.());

describe('tiered oracle with the real committee and the real DFT oracle', () => {
  let pool: Pool;
  let r: TieredOracleResult;
  let u: (number | undefined)[];
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-oracle-'));

  beforeAll(async () => {
    pool = await makePool(fx, path.join(runDir, 'pool.extxyz'));
    // Probe the committee once (another run directory) to set thresholds between the two groups.
    const probe = await maceLabelBatch({ runDir: mkdtempSync(path.join(os.tmpdir(), 'autopipe-oracle-probe-')), structureFile: pool.file, ids: pool.ids, oracle: { models: fx.models } });
    u = probe.items.map((i) => i.fStd);
    const near = pool.kinds.flatMap((k, i) => (k === 'near' ? [u[i]!] : []));
    const far = pool.kinds.flatMap((k, i) => (k === 'far' ? [u[i]!] : []));
    expect(Math.min(...far)).toBeGreaterThan(Math.max(...near));
    const accept = Math.max(...near) * 1.01;
    const dft = Math.max(accept, Math.min(...far) * 0.99);
    const client = await testClient();
    r = await client.workflow.execute(tieredOracleWorkflow, {
      taskQueue: TaskQueues.control,
      workflowId: `oracle-${Date.now()}`,
      args: [{
        runDir,
        name: 'pool',
        structureFile: pool.file,
        ids: pool.ids,
        teacher: { models: fx.models, accept_threshold: accept, dft_threshold: dft, between: 'queue', batch_size: 4 },
        dft: fixtureCampaign.dft,
        dftLimit: 2, // 3 are DFT-bound: the least uncertain one waits in the queue
        store: { source: 'initial_random', generation: 0 },
      }],
    });
  });

  it('keeps the MACE labels of near structures, sends the most uncertain to pw.x, rejects overlapping atoms', async () => {
    expect(r.uncertaintySource).toBe('committee');
    expect(r.note).toBeNull();
    expect(r.counts).toMatchObject({ total: 9, accept: 5, dft: 2, queue: 1, reject: 1, discard: 0, labelledByFastOracle: 5, labelledByDft: 2, dftFailed: 0, deferred: 1 });
    expect(r.dft).toMatchObject({ labelled: 2, failed: 0 });
    const m = JSON.parse(readFileSync(r.manifest, 'utf8'));
    const byId = new Map(m.items.map((i: { structureId: string }) => [i.structureId, i]));
    const farIdx = pool.kinds.flatMap((k, i) => (k === 'far' ? [i] : []));
    const leastUncertainFar = farIdx.reduce((a, b) => (u[a]! < u[b]! ? a : b));
    const engines: Record<string, string[]> = {};
    pool.ids.forEach((id, i) => {
      const item = byId.get(id) as { route: string; engine: string | null; settingsHash: string | null; deferred?: boolean; flag?: string };
      const kind = pool.kinds[i];
      if (kind === 'near') expect(item).toMatchObject({ route: 'accept', engine: 'mace' });
      if (kind === 'overlap') expect(item).toMatchObject({ route: 'reject', engine: null, settingsHash: null, flag: 'overlapping_atoms' });
      if (kind === 'far' && i === leastUncertainFar) expect(item).toMatchObject({ route: 'queue', engine: null, deferred: true });
      if (kind === 'far' && i !== leastUncertainFar) expect(item).toMatchObject({ route: 'dft', engine: 'dft' });
      if (item.engine) (engines[item.engine] ??= []).push(id);
    });
    // Each label the manifest names is in the run's store under that engine and key.
    for (const [engine, ids] of Object.entries(engines)) {
      const stored = await storedLabels(runDir, ids, engine);
      for (const id of ids) expect(stored[id]!.map((l) => l.settings_hash)).toContain((byId.get(id) as { settingsHash: string }).settingsHash);
    }
    const queue = JSON.parse(readFileSync(r.queueFile, 'utf8'));
    expect(queue.map((q: { structureId: string }) => q.structureId)).toEqual([pool.ids[leastUncertainFar]]);
  });

  it('ran pw.x only for the DFT-bound structures, on the dft queue, as a child labelling workflow', async () => {
    const client = await testClient();
    const children = [];
    for await (const w of client.workflow.list({ query: `WorkflowType = 'labellingWorkflow' AND StartTime > '${new Date(Date.now() - 3600_000).toISOString()}'` })) {
      if (w.workflowId.startsWith('oracle-') && w.workflowId.endsWith('/dft')) children.push(w);
    }
    expect(children.length).toBeGreaterThanOrEqual(1);
    const dftLabels = JSON.parse(readFileSync(r.manifest, 'utf8')).items.filter((i: { engine: string }) => i.engine === 'dft');
    for (const i of dftLabels) expect(existsSync(`${runDir}/dft/${i.structureId}/label-${i.settingsHash}.json`)).toBe(true); // pw.x's raw record
  });

  it('the store records which engine labelled each structure as it labelled it, and the members make a dataset', async () => {
    const members = JSON.parse(readFileSync(r.membersFile, 'utf8')).members as { id: string; oracle: string; settings_hash: string; config_type: string }[];
    expect(members.map((m) => m.oracle).sort()).toEqual(['dft', 'dft', 'mace', 'mace', 'mace', 'mace', 'mace']);
    const labels = await storeLabels({ runDir, ids: members.map((m) => m.id) });
    for (const m of members) expect(labels[m.id]!.filter((l) => l.energy !== null).map((l) => [l.oracle, l.settingsHash])).toContainEqual([m.oracle, m.settings_hash]);
    // The rejected structure is in the store too, with a flagged label and infinite uncertainty.
    const overlap = pool.ids[pool.kinds.indexOf('overlap')]!;
    expect((await storeLabels({ runDir, ids: [overlap] }))[overlap]).toEqual([expect.objectContaining({ oracle: 'mace', energy: null, uncertainty: Infinity, flag: 'overlapping_atoms' })]);
    const ds = await exportDataset({ runDir, name: 'routed', formats: ['extxyz'], sets: ['routed'], define: { set: 'routed', generation: 0, membersFile: r.membersFile } });
    expect(ds.count).toBe(7);
    expect(ds.byOracle).toEqual({ mace: 5, dft: 2 });
  });
});

describe('single model: routed by the ACE extrapolation grade', () => {
  it('says so in the result and routes by the gamma values given', async () => {
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-oracle-gamma-'));
    const pool = await makePool(fx, path.join(runDir, 'pool.extxyz'));
    const gamma = [0.5, 1.2, 2.5, 4.0, 7.0, 0.9, 30, null, 0.1];
    const client = await testClient();
    const r = await client.workflow.execute(tieredOracleWorkflow, {
      taskQueue: TaskQueues.control,
      workflowId: `oracle-gamma-${Date.now()}`,
      args: [{ runDir, name: 'gamma', structureFile: pool.file, ids: pool.ids, gamma, teacher: { models: [fx.models[0]!], gamma_accept_threshold: 1.5, gamma_dft_threshold: 5, between: 'discard' }, dft: fixtureCampaign.dft, dftLimit: 0 }],
    });
    expect(r.uncertaintySource).toBe('ace_gamma');
    expect(r.note).toBe('single fast-oracle model: no committee uncertainty; routed by the ACE extrapolation grade (gamma)');
    const m = JSON.parse(readFileSync(r.manifest, 'utf8'));
    // dftLimit 0: the DFT-bound are queued (deferred); the overlapping structure is rejected whatever its gamma.
    expect(m.items.map((i: { route: string }) => i.route)).toEqual(['accept', 'accept', 'discard', 'discard', 'queue', 'accept', 'queue', 'queue', 'reject']);
    expect(m.items.filter((i: { engine: string }) => i.engine === 'mace')).toHaveLength(3);
    expect(r.dft).toBeNull();
    expect(r.oracle).toMatchObject({ kind: 'mace', size: 1 });
  });
});

describe('CHGNet as the fast oracle (weights from its wheel, offline)', () => {
  it('labels through the same batch activity as MACE, equal to a direct CHGNetCalculator call', async () => {
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-oracle-chgnet-'));
    const pool = await makePool(fx, path.join(runDir, 'pool.extxyz'));
    const r = await maceLabelBatch({ runDir, structureFile: pool.file, ids: pool.ids, oracle: { kind: 'chgnet' } });
    expect(r.oracle).toMatchObject({ kind: 'chgnet', committee: false, size: 1 });
    expect(r.oracle.version).toMatch(/^chgnet 0\.\d+\.\d+, weights 0\.3\.0$/);
    expect(r.items[8]).toEqual({ id: pool.ids[8], flag: 'overlapping_atoms' });
    expect(r.computed).toBe(8);
    const stored = await storedLabels(runDir, pool.ids.slice(0, 8), 'chgnet');
    const d = await pyJson<{ maxE: number; maxF: number; maxS: number }>(`
import json, os, numpy as np
os.environ['HF_HUB_OFFLINE'] = '1'
from ase.io import read
from chgnet.model import CHGNet
from chgnet.model.dynamics import CHGNetCalculator
calc = CHGNetCalculator(model=CHGNet.load(verbose=False), use_device='cpu')
stored = json.loads(${JSON.stringify(JSON.stringify(stored))})
m = {'maxE': 0.0, 'maxF': 0.0, 'maxS': 0.0}
for a, sid in zip(read(${JSON.stringify(pool.file)}, ':8'), ${JSON.stringify(pool.ids.slice(0, 8))}):
    L = stored[sid][-1]
    a.calc = calc
    m['maxE'] = max(m['maxE'], abs(a.get_potential_energy() - L['energy']) / len(a))
    m['maxF'] = max(m['maxF'], float(np.abs(a.get_forces() - np.array(L['forces'])).max()))
    m['maxS'] = max(m['maxS'], float(np.abs(a.get_stress() - np.array(L['stress'])).max()))
print(json.dumps(m))`);
    // CHGNet runs in float32; batching changes the summation order.
    expect(d.maxE).toBeLessThan(1e-4);
    expect(d.maxF).toBeLessThan(1e-3);
    expect(d.maxS).toBeLessThan(1e-4);
    expect(stored[pool.ids[0]!]![0]!.provenance).toMatchObject({ oracle: 'chgnet', committee_size: 1 });
  });
});

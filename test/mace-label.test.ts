// The fast oracle's batch activity on a real MACE committee (trained once per run by the teacher CLI):
// its numbers equal a direct MACECalculator call, uncertainty behaves, unphysical input never fails a
// batch, labels carry provenance, models stay loaded across batches, payloads stay small, and every user
// mistake is a typed error naming the field.
import { ApplicationFailure } from '@temporalio/common';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { maceLabelBatch, type MaceLabelBatchResult } from '../activities/mace/label';
import { maceServer } from '../activities/runtime/helper-server';
import { StructuresSubset } from '../activities/campaign/routing';
import { TaskQueues } from '../common/queues';
import { maceLabelWorkflow, tieredOracleWorkflow } from '../workflows/teacher';
import { pyJson } from './helpers/python';
import { storedLabels } from './helpers/store';
import { startTestWorkers, testClient } from './helpers/temporal';
import { fixtureCampaign, sharedCommittee, type CommitteeFixture } from './mace-fixture';

interface EvalSet {
  file: string;
  ids: string[];
  groups: { training: number[]; rattled: number[]; overlapping: number[] };
}

/** Training structures, strongly rattled ones (physical, far from the data) and one with overlapping atoms. */
async function evalSet(fx: CommitteeFixture, out: string): Promise<EvalSet> {
  return pyJson<EvalSet>(`
import json, numpy as np
from ase.io import read
from activities.structures.commands import structure_id
from activities.structures.reading import min_distance
seed = read(${JSON.stringify(fx.structuresFile)}, ':')
rng = np.random.default_rng(11)
frames, ids, rattled = [], [], []
for a in seed:
    frames.append(a); ids.append(a.info['structure_id'])
base = seed[0].copy(); base.info.clear()
while len(rattled) < 6:
    b = base.copy(); b.positions += rng.normal(0, 0.22, b.positions.shape)
    if min_distance(b) > 1.7:
        rattled.append(b)
for k, b in enumerate(rattled):
    frames.append(b); ids.append(structure_id(b))
o = base.copy(); o.positions[1] = o.positions[0] + [0.15, 0.0, 0.0]
frames.append(o); ids.append(structure_id(o))
from activities.structures.commands import write_frames
write_frames(${JSON.stringify(out)}, [(a, {'structure_id': i}) for a, i in zip(frames, ids)])  # exact: ids are content hashes
n = len(seed)
print(json.dumps({'file': ${JSON.stringify(out)}, 'ids': ids, 'groups': {'training': list(range(n)), 'rattled': list(range(n, n + 6)), 'overlapping': [n + 6]}}))`);
}

/** The ApplicationFailure at the root of a (workflow -> activity -> application) failure chain. */
function failureOf(err: unknown): ApplicationFailure {
  let e: unknown = err;
  while (e && !(e instanceof ApplicationFailure)) e = (e as { cause?: unknown }).cause;
  if (e instanceof ApplicationFailure) return e;
  throw err;
}

async function rejection(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (err) {
    return failureOf(err);
  }
  throw new Error('expected a failure');
}

// One set of workers and the shared committee for the whole file.
let stop: () => Promise<void>;
let fx: CommitteeFixture;
beforeAll(async () => {
  stop = await startTestWorkers(['control', 'dft', 'ml'], { ml: 2 });
  fx = await sharedCommittee();
});
afterAll(async () => stop?.());

describe('MACE batch labelling on a real committee', () => {
  let set: EvalSet;
  let first: MaceLabelBatchResult;
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-mace-label-'));
  const oracle = () => ({ kind: 'mace' as const, models: fx.models });

  beforeAll(async () => {
    set = await evalSet(fx, path.join(runDir, 'eval.extxyz'));
    first = await maceLabelBatch({ runDir, structureFile: set.file, ids: set.ids, oracle: oracle() });
  });

  it('the bootstrap CLI trained a two-member committee with different seeds on pw.x labels', () => {
    expect(fx.models).toHaveLength(2);
    expect(new Set(fx.seeds).size).toBe(2);
    expect(fx.labelled).toBe(fixtureCampaign.teacher.bootstrap.seed_structures);
    for (const m of fx.models) expect(existsSync(m)).toBe(true);
    const rec = JSON.parse(readFileSync(fx.record, 'utf8'));
    expect(rec.committee).toBe(true);
    expect(rec.models.map((m: { sha256: string }) => m.sha256)).toEqual(fx.models.map((m) => createHash('sha256').update(readFileSync(m)).digest('hex')));
    expect(fx.trainingScore.rmse_forces_mev_a).toBeLessThan(400);
  });

  it('labels equal a direct MACECalculator committee call to 1e-6 (energy, forces, stress, uncertainty)', async () => {
    const overlapping = set.ids[set.groups.overlapping[0]!]!;
    const labelled = set.ids.filter((id) => id !== overlapping);
    const stored = await storedLabels(runDir, labelled, 'mace');
    const d = await pyJson<{ maxE: number; maxF: number; maxS: number; maxU: number; maxEU: number; n: number }>(`
import json, numpy as np
from ase.io import read
from mace.calculators import MACECalculator
calc = MACECalculator(model_paths=${JSON.stringify(fx.models)}, device='cpu', default_dtype='float64')
frames = read(${JSON.stringify(set.file)}, ':')
ids = ${JSON.stringify(set.ids)}
stored = json.loads(${JSON.stringify(JSON.stringify(stored))})
m = dict(maxE=0.0, maxF=0.0, maxS=0.0, maxU=0.0, maxEU=0.0, n=0)
for a, sid in zip(frames, ids):
    if sid == ${JSON.stringify(overlapping)}:
        continue
    L = stored[sid][-1]
    a.calc = calc
    e, f, s = a.get_potential_energy(), a.get_forces(), a.get_stress()
    fc, ec = calc.results['forces_comm'], calc.results['energy_comm']
    u = float(np.sqrt(fc.var(axis=0).sum(axis=-1)).max())
    eu = float(np.std(ec) / len(a))
    m['maxE'] = max(m['maxE'], abs(e - L['energy']))
    m['maxF'] = max(m['maxF'], float(np.abs(f - np.array(L['forces'])).max()))
    m['maxS'] = max(m['maxS'], float(np.abs(s - np.array(L['stress'])).max()))
    m['maxU'] = max(m['maxU'], abs(u - L['uncertainty']))
    m['maxEU'] = max(m['maxEU'], abs(eu - L['energy_std_per_atom']))
    m['n'] += 1
print(json.dumps(m))`);
    expect(d.n).toBe(labelled.length);
    for (const k of ['maxE', 'maxF', 'maxS', 'maxU', 'maxEU'] as const) expect(d[k], k).toBeLessThan(1e-6);
  });

  it('committee uncertainty is larger on strongly rattled structures than on training structures', () => {
    const u = (idx: number[]) => idx.map((i) => first.items[i]!.fStd!);
    const train = u(set.groups.training);
    const rattled = u(set.groups.rattled);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(rattled)).toBeGreaterThan(2 * mean(train));
    expect(Math.min(...rattled)).toBeGreaterThan(Math.max(...train) * 0.9);
  });

  it('overlapping atoms: infinite uncertainty (flag, no spread, a flagged label without energy) and no exception for the batch', async () => {
    const id = set.ids[set.groups.overlapping[0]!]!;
    const o = first.items[set.groups.overlapping[0]!]!;
    expect(o).toEqual({ id, flag: 'overlapping_atoms' });
    const stored = (await storedLabels(runDir, [id], 'mace'))[id]!;
    expect(stored).toEqual([expect.objectContaining({ energy: null, forces: null, flag: 'overlapping_atoms', uncertainty: null })]);
    expect(first.flagged).toBe(1);
    expect(first.computed).toBe(set.ids.length - 1);
  });

  it('stores each label in the run store with provenance: oracle mace, model hashes, source file and index', async () => {
    const sid = set.ids[set.groups.rattled[0]!]!;
    const label = (await storedLabels(runDir, [sid], 'mace'))[sid]![0]!;
    const hashes = fx.models.map((m) => createHash('sha256').update(readFileSync(m)).digest('hex'));
    expect(label.settings_hash).toBe(first.oracle.key);
    expect(label.provenance).toMatchObject({ oracle: 'mace', oracle_key: first.oracle.key, committee_size: 2, structure_file: set.file, index: set.groups.rattled[0] });
    expect((label.provenance.models as { sha256: string }[]).map((m) => m.sha256)).toEqual(hashes);
    expect(first.modelHashes).toEqual(hashes.map((h) => h.slice(0, 16)));
  });

  it('keeps the models loaded across batches and reuses labels already in the store (flagged ones too)', async () => {
    const starts = maceServer().starts;
    const pid = maceServer().pid;
    const again = await maceLabelBatch({ runDir, structureFile: set.file, ids: set.ids, oracle: oracle() });
    expect(again.modelsCached).toBe(true);
    expect(again.reused).toBe(set.ids.length);
    expect(again.computed).toBe(0);
    expect(again.items.filter((i) => !i.flag).map((i) => i.fStd)).toEqual(first.items.filter((i) => !i.flag).map((i) => i.fStd));
    expect(maceServer().starts).toBe(starts);
    expect(maceServer().pid).toBe(pid);
  });

  it('through Temporal: batches on the ml queue with small payloads and the workflow id in provenance', async () => {
    const client = await testClient();
    const id = `mace-label-${Date.now()}`;
    const wfRun = mkdtempSync(path.join(os.tmpdir(), 'autopipe-mace-label-wf-'));
    const handle = await client.workflow.start(maceLabelWorkflow, {
      taskQueue: TaskQueues.control,
      workflowId: id,
      args: [{ runDir: wfRun, structureFile: set.file, ids: set.ids, teacher: { models: fx.models, batch_size: 6 } }],
    });
    const r = await handle.result();
    expect(r).toMatchObject({ labelled: set.ids.length - 1, flagged: 1, batches: 3, committee: true });
    expect(r.maxForceStd).toBeGreaterThan(r.meanForceStd!);
    const history = await handle.fetchHistory();
    const events = history.events ?? [];
    const scheduled = events.map((e) => e.activityTaskScheduledEventAttributes).filter((a): a is NonNullable<typeof a> => Boolean(a));
    expect(scheduled.map((a) => `${a.activityType?.name}@${a.taskQueue?.name}`)).toEqual(Array(3).fill('maceLabelBatch@autopipe-ml'));
    const payloadBytes = events.flatMap((e) => [e.activityTaskScheduledEventAttributes?.input, e.activityTaskCompletedEventAttributes?.result])
      .flatMap((p) => p?.payloads ?? [])
      .map((p) => p.data?.length ?? 0);
    expect(Math.max(...payloadBytes)).toBeLessThan(8 * 1024);
    const label = (await storedLabels(wfRun, [set.ids[0]!], 'mace'))[set.ids[0]!]![0]!;
    expect(label.provenance.workflow_id).toBe(id);
  });
});

describe('typed errors for the fast oracle', () => {
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-mace-errors-'));

  it('empty model list, missing model file, missing structure file, ids beyond the file', async () => {
    const file = fx.structuresFile;
    const ids = ['x'];
    const empty = await rejection(maceLabelBatch({ runDir, structureFile: file, ids, oracle: { kind: 'mace', models: [] } }));
    expect(empty.type).toBe('InvalidConfig');
    expect(empty.nonRetryable).toBe(true);
    expect(empty.message).toMatch(/^teacher\.models is empty: list one MACE model file, or two or more for a committee \(`autopipe teacher bootstrap --config FILE` trains one/);
    const missing = await rejection(maceLabelBatch({ runDir, structureFile: file, ids, oracle: { kind: 'mace', models: [fx.models[0]!, '/nowhere/m.model'] } }));
    expect(missing.type).toBe('InvalidConfig');
    expect(missing.message).toBe('teacher.models: MACE model file not found: /nowhere/m.model (model files must be local; fix the path or run `autopipe teacher bootstrap`)');
    const noFile = await rejection(maceLabelBatch({ runDir, structureFile: '/nowhere/s.extxyz', ids, oracle: { kind: 'mace', models: fx.models } }));
    expect(noFile.type).toBe('InvalidInput');
    expect(noFile.message).toBe('structure file not found: /nowhere/s.extxyz');
    const beyond = await rejection(maceLabelBatch({ runDir, structureFile: file, start: 5, ids: ['a', 'b'], oracle: { kind: 'mace', models: fx.models } }));
    expect(beyond.type).toBe('InvalidInput');
    expect(beyond.message).toMatch(/has 6 structures; batch asks for indices 5\.\.6/);
    const notModel = await rejection(maceLabelBatch({ runDir, structureFile: file, ids: ['a'], oracle: { kind: 'mace', models: [file] } }));
    expect(notModel.type).toBe('InvalidConfig');
    expect(notModel.message).toMatch(/^teacher\.models: MACE cannot load/);
  });

  it('a workflow with a missing model fails once, non-retryably, naming the file', async () => {
    const client = await testClient();
    const handle = await client.workflow.start(tieredOracleWorkflow, {
      taskQueue: TaskQueues.control,
      workflowId: `oracle-missing-model-${Date.now()}`,
      args: [{ runDir, name: 'missing', structureFile: fx.structuresFile, ids: ['a'], teacher: { models: ['/nowhere/a.model', '/nowhere/b.model'] }, dft: {} }],
    });
    const f = await rejection(handle.result());
    expect(f.type).toBe('InvalidConfig');
    expect(f.message).toMatch(/MACE model file not found: \/nowhere\/a\.model/);
    const events = (await handle.fetchHistory()).events ?? [];
    expect(events.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt)).toEqual([1]);
  });

  it('an empty committee or an inverted threshold pair fails the workflow before any activity', async () => {
    const client = await testClient();
    for (const [teacher, re] of [
      [{ models: [] }, /^teacher\.models is empty/],
      [{ models: fx.models, accept_threshold: 0.5, dft_threshold: 0.1 }, /teacher\.accept_threshold \(0\.5\) must be <= teacher\.dft_threshold \(0\.1\)/],
      [{ models: [fx.models[0]] }, /routing needs ACE extrapolation grades \(gamma\)/],
    ] as const) {
      const handle = await client.workflow.start(tieredOracleWorkflow, {
        taskQueue: TaskQueues.control,
        workflowId: `oracle-bad-config-${Date.now()}-${Math.random()}`,
        args: [{ runDir, name: 'bad', structureFile: fx.structuresFile, ids: ['a'], teacher, dft: {} }],
      });
      const f = await rejection(handle.result());
      expect(f.type).toBe('InvalidConfig');
      expect(f.message).toMatch(re);
      const events = (await handle.fetchHistory()).events ?? [];
      expect(events.some((e) => e.activityTaskScheduledEventAttributes)).toBe(false);
    }
  });
});

describe('helper server crash', () => {
  // Last in the file: the restart it provokes is verified with a request that needs no torch.
  it('a helper that dies mid-batch fails the batch as retryable ProcessKilled; the next request starts a fresh one', async () => {
    const starts = maceServer().starts;
    const other = mkdtempSync(path.join(os.tmpdir(), 'autopipe-mace-crash-'));
    const id0 = await pyJson<string>(`import json; from ase.io import read; print(json.dumps(read(${JSON.stringify(fx.structuresFile)}, 0).info['structure_id']))`);
    const inFlight = maceLabelBatch({ runDir: other, structureFile: fx.structuresFile, ids: [id0], oracle: { models: fx.models } });
    maceServer().kill('SIGKILL');
    const f = await rejection(inFlight);
    expect(f.type).toBe('ProcessKilled');
    expect(f.nonRetryable).toBe(false);
    const out = path.join(other, 'one.extxyz');
    const sub = await maceServer().request(StructuresSubset, { structure_file: fx.structuresFile, indices: [0], output: out }, { workDir: other });
    expect(sub.count).toBe(1);
    expect(maceServer().starts).toBe(starts + 1);
  });
});

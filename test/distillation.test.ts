// Phase 1 in the specification's shape: a pool of 1000 rattled Si cells, the shared MACE committee as
// the teacher, accept threshold 0.05 eV/Å. About half the pool is kept (a property of this pool and
// committee, measured here from the labels in the run's store, not assumed), exactly those structures go
// into the training set with the teacher weight, the uncertain ones wait in the DFT queue, and Pacemaker
// fits generation 0 from an input.yaml built for that training set.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignSchema } from '../common/campaign-schema';
import { TaskQueues } from '../common/queues';
import { distillationWorkflow, type DistillationResult } from '../workflows/distillation';
import { pyJson } from './helpers/python';
import { startTestWorkers, testClient } from './helpers/temporal';
import { fixtureCampaign, sharedCommittee } from './mace-fixture';

const ACCEPT = 0.05;
const DFT = 0.09; // low enough that the tail of this pool goes to DFT

let stop: () => Promise<void>;
let r: DistillationResult;
let trainingNames: string[] = [];
const runDir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-distill-'));
const campaign = CampaignSchema.parse({
  ...fixtureCampaign,
  seed: 11,
  // rattle_sigma puts the pool on both sides of 0.05 for the fixture committee (probed: 78 % kept at
  // 0.05 Å, 22 % at 0.08 Å)
  generation: { count: 1000, rattle_sigma: 0.065, volume_range: [0.96, 1.04], shear_fraction: 0, vacancy_fraction: 0 }, // the spec's pool: rattled cells
  teacher: { ...fixtureCampaign.teacher, accept_threshold: ACCEPT, dft_threshold: DFT, batch_size: 250 },
  training: { number_of_functions_per_element: 10, maxiter: 5, replay_buffer_size: 2000 },
});

beforeAll(async () => {
  stop = await startTestWorkers(['control', 'dft', 'ml'], { ml: 2 }); // dft: the shared committee's seed labels
  const fx = await sharedCommittee();
  const client = await testClient();
  r = await client.workflow.execute(distillationWorkflow, {
    taskQueue: TaskQueues.control,
    workflowId: `distill-${Date.now()}`,
    args: [{ runDir, campaign, teacherModels: fx.models }],
  });
});
afterAll(async () => stop?.());

describe('zero-shot distillation, the specification\'s shape (1000 candidates, threshold 0.05)', () => {
  it('keeps exactly the confident structures, about half the pool, and queues the uncertain ones for DFT', async () => {
    expect(r.generated).toBe(1000);
    expect(r.committee).toBe(true);
    // Recount from the run's store: the committee's own force spread per structure, as the batches stored it.
    const labels = await pyJson<{ name: string; fStd: number | null; flag: string | null }[]>(`
import json, math, sqlite3
con = sqlite3.connect(${JSON.stringify(path.join(runDir, 'store.sqlite'))})
rows = con.execute("SELECT structure_id, uncertainty, flag FROM autopipe_labels WHERE oracle='mace'").fetchall()
print(json.dumps([{'name': i, 'fStd': None if u is None or math.isinf(u) else u, 'flag': f} for i, u, f in rows]))`);
    const byId = new Map(labels.map((l) => [l.name, l]));
    expect(byId.size).toBe(1000); // every candidate has a label in the store (a flagged one for what the teacher could not judge)
    const confident = [...byId.values()].filter((l) => l.fStd !== null && l.fStd <= ACCEPT).map((l) => l.name).sort();
    const uncertain = [...byId.values()].filter((l) => (l.fStd !== null && l.fStd > DFT) || (l.flag && l.flag !== 'overlapping_atoms')).map((l) => l.name).sort();
    expect(r.kept).toBe(confident.length);
    expect(uncertain.length).toBeGreaterThan(0);
    const queue = JSON.parse(readFileSync(r.queueFile, 'utf8')) as { structureId: string; uncertainty: number | null }[];
    expect(queue.map((q) => q.structureId).sort()).toEqual(uncertain);
    expect(r.queued).toBe(uncertain.length);
    expect(r.kept + r.routes.discard + r.queued + r.routes.reject).toBe(1000);
    console.log(`distillation: ${r.kept}/1000 kept at <= ${ACCEPT} eV/Å, ${r.queued} queued for DFT, ${r.routes.discard} discarded`);
    expect(r.kept / 1000).toBeGreaterThan(0.3);
    expect(r.kept / 1000).toBeLessThan(0.7);
    trainingNames = confident;
  });

  it('builds the training set from exactly the kept structures, weighted as teacher labels', async () => {
    const ds = await pyJson<{ names: string[]; factors: number[]; oracles: string[] }>(`
import json, pandas as pd
df = pd.read_pickle(${JSON.stringify(r.training!.file)}, compression='gzip')
print(json.dumps({'names': sorted(df.name), 'factors': sorted(set(map(float, df.w_factor))), 'oracles': sorted(set(df.oracle))}))`);
    expect(ds.names).toEqual(trainingNames);
    expect(r.training!.training).toBe(r.kept);
    expect(ds.factors).toEqual([campaign.teacher.label_weight]);
    expect(ds.oracles).toEqual(['mace']);
  });

  it("fits generation 0 with Pacemaker from an input.yaml built for that set", () => {
    const input = YAML.parse(readFileSync(path.join(runDir, 'potentials', 'gen-0', 'input.yaml'), 'utf8'));
    expect(input.potential.elements).toEqual(['Si']);
    expect(input.fit.maxiter).toBe(5);
    expect(input.data.filename).toBe(path.resolve(r.training!.file));
    expect(existsSync(r.fit!.yace)).toBe(true);
    expect(existsSync(r.fit!.asi!)).toBe(true);
    expect(r.fit!.metrics.test_rmse_energy_mev_atom ?? r.fit!.metrics.train_rmse_energy_mev_atom).toBeGreaterThan(0);
  });
});

// The foundation end to end: a workflow started through the client runs pw.x on the dft queue,
// pacemaker and MACE on the ml queue, with real workers against the run's real dev server.
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CampaignInput } from '../common/campaign-schema';
import type { temporal } from '@temporalio/proto';
import { TaskQueues } from '../common/queues';
import { smokeWorkflow, type SmokeResult } from '../workflows/smoke';
import { pyJson } from './helpers/python';
import { startTestWorkers, testClient } from './helpers/temporal';

const campaign: CampaignInput = {
  system: { name: 'Si', elements: ['Si'], prototype: { kind: 'diamond', a: 5.43, cubic: true } },
  dft: { pseudopotentials: { Si: 'Si.pz-vbc.UPF' }, ecutwfc: 16, smearing: 'none', kspacing: 0.09, concurrency: 2 },
  training: { number_of_functions_per_element: 10, test_size: 0.2 },
};

describe('smoke workflow across the control, dft and ml queues', () => {
  let stop: () => Promise<void>;
  let result: SmokeResult;
  let history: temporal.api.history.v1.IHistory;
  let childHistory: typeof history;
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-smoke-'));

  beforeAll(async () => {
    stop = await startTestWorkers();
    const client = await testClient();
    const id = `smoke-${Date.now()}`;
    const handle = await client.workflow.start(smokeWorkflow, {
      taskQueue: TaskQueues.control,
      workflowId: id,
      args: [{ runDir, campaign, structures: 5, fitIterations: 8, maceEpochs: 3 }],
    });
    result = await handle.result();
    history = await handle.fetchHistory();
    childHistory = await client.workflow.getHandle(`${id}/labelling`).fetchHistory();
  });
  afterAll(async () => stop?.());

  it('labels every structure with pw.x and fits ACE with all three artefacts', () => {
    expect(result.labelled).toBe(5);
    expect(result.failed).toBe(0);
    for (const f of [result.dataset, result.potential.yaml, result.potential.yace, result.potential.asi!]) expect(existsSync(f)).toBe(true);
    expect(result.fitMetrics.iterations).toBeGreaterThan(0);
    expect(result.fitMetrics.train_rmse_forces_mev_a).toBeGreaterThan(0);
  });

  it('ran the MACE activities on the ml queue and pw.x on the dft queue', () => {
    const scheduled = (h: typeof history) =>
      (h.events ?? [])
        .map((e) => e.activityTaskScheduledEventAttributes)
        .filter((a): a is NonNullable<typeof a> => Boolean(a))
        .map((a) => `${a.activityType?.name}@${a.taskQueue?.name}`);
    expect(scheduled(history)).toEqual(expect.arrayContaining(['fitAce@autopipe-ml', 'trainMace@autopipe-ml', 'evaluateMace@autopipe-ml', 'generateStructures@autopipe-control', 'exportDataset@autopipe-control']));
    expect(scheduled(childHistory)).toEqual(Array(5).fill('dftLabel@autopipe-dft'));
  });

  it('the trained MACE committee, evaluated by the helper, equals a direct MACECalculator call', async () => {
    const evalFile = path.join(runDir, 'mace', 'smoke', 'eval.extxyz');
    const [m0, m1] = result.maceModels;
    const diff = await pyJson<{ maxE: number; maxF: number; n: number }>(`
import json, numpy as np
from ase.io import read
from mace.calculators import MACECalculator
calc = MACECalculator(model_paths=[${JSON.stringify(m0)}, ${JSON.stringify(m1)}], device='cpu', default_dtype='float64')
frames = read(${JSON.stringify(evalFile)}, ':')
maxE = maxF = 0.0
for a in frames:
    e0, f0 = a.info['MACE_energy'], a.arrays['MACE_forces']
    b = a.copy(); b.calc = calc
    maxE = max(maxE, abs(b.get_potential_energy() - e0)); maxF = max(maxF, float(np.abs(b.get_forces() - f0).max()))
print(json.dumps({'maxE': maxE, 'maxF': maxF, 'n': len(frames)}))`);
    expect(diff.n).toBe(5);
    expect(diff.maxE).toBeLessThan(1e-6);
    expect(diff.maxF).toBeLessThan(1e-6);
    expect(result.maceMeanForceStd).toBeGreaterThan(0);
  });
});

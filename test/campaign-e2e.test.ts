// The product end to end: a tiny Si campaign through two generations of all four phases on real tools
// (pw.x, MACE, pacemaker, the Temporal server), then the final potential loaded and used.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import proto from '@temporalio/proto';
import { TaskQueues } from '../common/queues';
import { workflowsPath } from '../workers/worker';
import { campaignWorkflow, type CampaignOutcome } from '../workflows/campaign';
import { statusQuery, type CampaignStatus } from '../workflows/campaign-api';
import { loadCampaignFile } from '../cli/campaign-file';
import { pyJson } from './helpers/python';
import { startTestWorkers, testClient } from './helpers/temporal';

describe('campaign end to end', () => {
  let stop: () => Promise<void>;
  let outcome: CampaignOutcome;
  let status: CampaignStatus;
  let id: string;
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-e2e-'));

  beforeAll(async () => {
    stop = await startTestWorkers();
    const loaded = loadCampaignFile('test/fixtures/campaigns/tiny-si.yaml');
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const client = await testClient();
    id = `e2e-${Date.now()}`;
    const h = await client.workflow.start(campaignWorkflow, { taskQueue: TaskQueues.control, workflowId: id, args: [{ ...loaded.raw, id, run_directory: runDir }] });
    outcome = await h.result();
    status = await client.workflow.getHandle(id).query(statusQuery);
  }, 30 * 60_000); // a whole campaign on real tools; ~5 min on a quiet 2-core machine
  afterAll(async () => stop?.());

  it('runs every phase through two generations within the DFT budget', async () => {
    expect(outcome.generations).toBe(2);
    expect(outcome.stopReason).toMatch(/generation limit reached \(2\)|converged/);
    expect(outcome.dft.used).toBeLessThanOrEqual(14);
    expect(outcome.dft.labelled).toBe(outcome.dft.used - outcome.dft.failed);
    const client = await testClient();
    const children: string[] = [];
    for await (const w of client.workflow.list({ query: `WorkflowId STARTS_WITH '${id}/'` })) children.push(w.workflowId);
    expect(children.sort()).toEqual(
      expect.arrayContaining([
        `${id}/gen-0/teacher`,
        `${id}/gen-0/teacher/dft`,
        `${id}/gen-0/distillation`,
        `${id}/gen-0/exploration`,
        `${id}/gen-0/labelling`,
        `${id}/gen-0/finetune`,
        `${id}/gen-1/exploration`,
      ]),
    );
    expect(status.phase).toBe('finished');
    expect(status.structures.byOracle.dft).toBe(outcome.dft.labelled);
    expect(status.metrics.map((m) => m.generation)).toEqual(Array.from({ length: status.metrics.length }, (_, i) => i));
    expect(readFileSync(outcome.report, 'utf8')).toContain(`Stopped: ${outcome.stopReason}`);
  });

  it('the final potential and its active set load in pyace and predict finite energies and gammas', async () => {
    const p = outcome.potential!;
    expect(existsSync(p.yace)).toBe(true);
    expect(existsSync(p.asi!)).toBe(true);
    const r = await pyJson<{ e: number; fmax: number; gamma: number }>(`
import json, numpy as np
from ase.build import bulk
from pyace import PyACECalculator
calc = PyACECalculator(${JSON.stringify(p.yaml)}); calc.set_active_set(${JSON.stringify(p.asi)})
a = bulk('Si', 'diamond', a=5.43, cubic=True); a.rattle(0.02, seed=5); a.calc = calc
e = a.get_potential_energy(); f = a.get_forces()
print(json.dumps({'e': e / len(a), 'fmax': float(np.abs(f).max()), 'gamma': float(calc.results['gamma'].max())}))`);
    // Pacemaker fits energy_corrected (energy minus the per-element reference energies it stores in the
    // potential's metadata), so a near-equilibrium cell sits within a few eV/atom of zero.
    expect(Math.abs(r.e)).toBeLessThan(5);
    expect(Number.isFinite(r.fmax)).toBe(true);
    expect(r.gamma).toBeGreaterThan(0);
  });

  it('the recorded history replays deterministically against the current workflow code', async () => {
    const client = await testClient();
    const histories = [];
    for await (const w of client.workflow.list({ query: `WorkflowId = '${id}'` })) {
      histories.push({ workflowId: w.workflowId, history: await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory() });
    }
    expect(histories.length).toBe(2); // one run per generation (continueAsNew)
    if (process.env.AUTOPIPE_RECORD_HISTORY) {
      const gen0 = histories.reduce((a, b) => ((a.history.events?.length ?? 0) >= (b.history.events?.length ?? 0) ? a : b));
      writeFileSync(process.env.AUTOPIPE_RECORD_HISTORY, proto.temporal.api.history.v1.History.encode(gen0.history).finish());
    }
    for await (const r of Worker.runReplayHistories({ workflowsPath }, histories)) expect(r.error).toBeUndefined();
  });
});

// The campaign's control surface on the real server: validation of a directly started object, the
// status query, pause/resume, and the validated tune update. The campaign is held paused, so no tool runs.
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskQueues } from '../common/queues';
import { campaignWorkflow } from '../workflows/campaign';
import { pauseSignal, resumeSignal, statusQuery, tuneUpdate } from '../workflows/campaign-api';
import { startTestWorkers, testClient } from './helpers/temporal';

const valid = (runDir: string) => ({
  system: { name: 'Si', elements: ['Si'], prototype: { kind: 'diamond', a: 5.43 } },
  dft: { pseudopotentials: { Si: 'Si.pz-vbc.UPF' } },
  run_directory: runDir,
});

describe('campaign control', () => {
  let stop: () => Promise<void>;
  beforeAll(async () => {
    stop = await startTestWorkers(['control']);
  });
  afterAll(async () => stop?.());

  it('an invalid campaign object started directly fails with the field messages', async () => {
    const client = await testClient();
    const bad = { system: { name: 'Si', elements: ['Si'], prototype: { kind: 'diamond', a: -1 } }, dft: { kspacing: 0 }, typo: 1 };
    const err = await client.workflow
      .execute(campaignWorkflow, { taskQueue: TaskQueues.control, workflowId: `bad-${Date.now()}`, args: [bad] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as { type?: string; message: string; nonRetryable?: boolean };
    expect(cause.type).toBe('InvalidConfig');
    expect(cause.message.split('\n')).toEqual([
      'invalid campaign:',
      'system.prototype.a: must be > 0',
      'dft.kspacing: must be > 0',
      'typo: unknown key (check the spelling; see `autopipe schema`)',
    ]);
  });

  it('pauses before the first phase, reports status, accepts only valid tuning, and resumes', async () => {
    const client = await testClient();
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-control-'));
    const id = `control-${Date.now()}`;
    const h = await client.workflow.start(campaignWorkflow, { taskQueue: TaskQueues.control, workflowId: id, args: [valid(runDir)] });
    await h.signal(pauseSignal);
    // The preparation reads the starting structure (a Python start) before the run directory is known.
    let s = await h.query(statusQuery);
    const until = Date.now() + 60_000;
    while (s.runDir === '' && Date.now() < until) s = await h.query(statusQuery);
    expect(s).toMatchObject({ campaignId: id, system: 'Si', paused: true, phase: 'paused', generation: 0 });
    expect(s.runDir).toBe(runDir);
    expect(s.dft).toEqual({ used: 0, budget: 40, labelled: 0, healed: 0, failed: 0, running: [] });

    const rejected = await h.executeUpdate(tuneUpdate, { args: [{ gamma_select: 9 }] }).catch((e) => e);
    expect(rejected).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((rejected as WorkflowUpdateFailedError).cause?.message).toBe('exploration.gamma_select (9) must be < exploration.gamma_halt (5)');
    const unknown = await h.executeUpdate(tuneUpdate, { args: [{ gamma: 1 } as never] }).catch((e) => e);
    expect((unknown as WorkflowUpdateFailedError).cause?.message).toMatch(/unknown key|Unrecognized key/i);

    const accepted = await h.executeUpdate(tuneUpdate, { args: [{ gamma_select: 2.5, dft_total: 20 }] });
    expect(accepted).toMatchObject({ gammaSelect: 2.5, gammaHalt: 5, dft_total: 20 });
    s = await h.query(statusQuery);
    expect(s.thresholds.gammaSelect).toBe(2.5);
    expect(s.dft.budget).toBe(20);

    await h.signal(resumeSignal);
    for (let i = 0; i < 50 && s.phase === 'paused'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      s = await h.query(statusQuery);
    }
    expect(s.paused).toBe(false);
    expect(s.phase).toBe('teacher'); // no teacher models given: the bootstrap phase starts
    const desc = await h.describe();
    expect(desc.searchAttributes?.CampaignId).toEqual([id]);
    expect(desc.searchAttributes?.System).toEqual(['Si']);
    await h.terminate('test done');
  });
});

// Every branch of a campaign ends in a recorded decision, never in an exception of ours (issue 13 item 3):
// no candidates, an empty harvest although MD halted (formerly a TypeError on an undefined pendingDft,
// retried forever), every DFT calculation failed, the fine-tuned teacher rejected, the fine-tune itself
// failing (as mace_run_train did on 1-2 new labels), one new DFT label per generation. The campaign and its
// child workflows are the production code on the test server; the activities are the recording stand-ins
// of test/helpers/stand-ins.ts, told which branch to provoke. (test/finetune-thin.test.ts runs the thin
// generations on the real tools.)
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskQueues } from '../common/queues';
import { campaignWorkflow, type CampaignOutcome } from '../workflows/campaign';
import { statusQuery, type CampaignStatus } from '../workflows/campaign-api';
import { scenarios, startStandInWorkers, type Scenario } from './helpers/stand-ins';
import { testClient, useTestServerEnv } from './helpers/temporal';

const root = mkdtempSync(path.join(os.tmpdir(), 'autopipe-branches-'));
const campaign = (id: string, over: Record<string, unknown> = {}) => ({
  id,
  run_directory: path.join(root, id),
  seed: 5,
  system: { name: 'Cu', elements: ['Cu'], prototype: { kind: 'fcc', a: 3.6, cubic: true } },
  generation: { count: 10 },
  teacher: { models: ['/tmp/autopipe-stand-in/m0.model', '/tmp/autopipe-stand-in/m1.model'], accept_threshold: 0.1, dft_threshold: 0.4, batch_size: 5, between: 'queue' },
  dft: { pseudopotentials: { Cu: 'Cu.pz-d-rrkjus.UPF' } },
  budgets: { dft_total: 20, dft_per_generation: 3, max_generations: 2 },
  ...over,
});

async function run(name: string, s: Scenario, over: Record<string, unknown> = {}): Promise<{ outcome: CampaignOutcome; status: CampaignStatus; decisions: string[] }> {
  const id = `branch-${name}-${process.pid}`;
  scenarios.set(id, s);
  const client = await testClient();
  const h = await client.workflow.start(campaignWorkflow, { taskQueue: TaskQueues.control, workflowId: id, args: [campaign(id, over)] });
  const outcome = await h.result();
  // No workflow task of any run failed (a non-Temporal error would fail the task and be retried forever).
  for await (const w of client.workflow.list({ query: `WorkflowId STARTS_WITH '${id}'` })) {
    const events = (await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory()).events ?? [];
    expect(events.filter((e) => e.workflowTaskFailedEventAttributes), w.workflowId).toEqual([]);
  }
  const status = await client.workflow.getHandle(id).query(statusQuery);
  return { outcome, status, decisions: status.decisions.flatMap((d) => d.decisions.map((x) => `gen ${d.generation}: ${x}`)) };
}

let stop: () => Promise<void>;
beforeAll(async () => {
  useTestServerEnv();
  stop = await startStandInWorkers();
}, 120_000);
afterAll(async () => stop?.());

describe('every branch ends in a recorded decision', () => {
  it('no candidates: MD converged and nothing waits for DFT', async () => {
    const r = await run('converged', { md: { candidates: 0, halted: 0 } }, { teacher: { models: ['/tmp/autopipe-stand-in/m0.model', '/tmp/autopipe-stand-in/m1.model'], accept_threshold: 0.7, dft_threshold: 0.8 } });
    expect(r.outcome.stopReason).toMatch(/^converged: no halt and no frame above gamma/);
    expect(r.status.candidates).toMatchObject({ generated: 10, keptByTeacher: 10, waitingForDft: 0 });
  });

  it('an empty harvest although MD halted: no TypeError, the campaign says why it stops', async () => {
    const r = await run('empty-harvest', { md: { candidates: 0, halted: 2 } }, { teacher: { models: ['/tmp/autopipe-stand-in/m0.model', '/tmp/autopipe-stand-in/m1.model'], accept_threshold: 0.7, dft_threshold: 0.8 } });
    expect(r.outcome.stopReason).toBe('nothing to label in generation 0: 2 MD trajectories halted but none left a usable frame (the halting frames were unphysical or filtered out)');
  });

  it('an empty harvest with teacher-doubted structures waiting: those are labelled instead', async () => {
    const r = await run('empty-harvest-pending', { md: { candidates: 0, halted: 2 } });
    expect(r.decisions.join('\n')).toMatch(/gen 0: labelling: picked 3 for DFT \(0 from MD, 3 teacher-doubted/);
    expect(r.outcome.generations).toBe(2);
  });

  it('every DFT calculation failed: counted, the potential kept, the next generation goes on', async () => {
    const r = await run('dft-failed', { dftFails: true });
    expect(r.outcome.dft).toMatchObject({ used: 6, labelled: 0, failed: 6 });
    expect(r.decisions).toContain('gen 0: DFT: 0 of 3 labelled (0 healed, 3 failed)');
    expect(r.decisions).toContain('gen 0: no new labels in generation 0: the potential stays at generation 0');
    expect(r.outcome.stopReason).toBe('generation limit reached (2)');
  });

  it('the fine-tuned teacher is worse: rejected, the old committee stays, ACE is refitted', async () => {
    const r = await run('teacher-rejected', { teacherWorse: true });
    expect(r.decisions.find((d) => d.startsWith('gen 0: teacher: kept the old committee:'))).toBeDefined();
    expect(r.status.metrics.find((m) => m.generation === 0)?.teacher).toMatchObject({ adopted: false });
    expect(r.outcome.potential?.generation).toBe(2);
  });

  it('the fine-tune fails (as mace_run_train did on 1-2 new labels): the committee stays, ACE is refitted', async () => {
    const r = await run('finetune-failed', { fineTuneFails: true });
    expect(r.decisions).toContain('gen 0: teacher: kept the committee: fine-tuning failed (TrainingFailed: stand-in: torch.cat(): expected a non-empty list)');
    expect(r.outcome.potential?.generation).toBe(2);
  });

  it('one new DFT label per generation: fine-tuned on it plus the replayed DFT labels', async () => {
    const r = await run('thin', {}, { budgets: { dft_total: 20, dft_per_generation: 1, max_generations: 2 } });
    expect(r.outcome.dft.labelled).toBe(2);
    expect(r.status.metrics.find((m) => m.generation === 0)?.teacher).toMatchObject({ adopted: true, trainedOn: { new: 1, replayed: 6 } });
  });
});

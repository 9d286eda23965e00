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
import { observed, scenarios, startStandInWorkers, type Scenario } from './helpers/stand-ins';
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
  // The branches below count DFT calls; the validation set's own calls are tested on their own (last tests).
  validation: { share: 0, per_pool: 0 },
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

  it('the validation set: random candidates of each pool and a share of the picks, DFT-labelled, scored after every fit', async () => {
    const r = await run('validation', {}, { validation: { share: 0.4, per_pool: 1, max_fraction: 0.5 } });
    const v = r.status.validation!;
    // Generation 0: one of each generator mode (stand-in: two pools), then MD pools each generation and a share of the picks.
    expect(r.decisions.find((d) => d.startsWith('gen 0: validation: 2 of 2 random generator modes labelled for the validation set'))).toBeDefined();
    expect(r.decisions.find((d) => /^gen 0: validation: \d+ of 3 DFT picks held out/.test(d))).toBeDefined();
    expect(v.requested).toBe(v.labelled);
    expect(v.byGroup.picked).toBeGreaterThan(0);
    // Every validation DFT call is a campaign DFT call, within max_fraction of the budget.
    expect(v.requested).toBeLessThanOrEqual(10);
    expect(r.outcome.dft.used).toBe(v.requested - (v.byGroup.picked ?? 0) + 6);
    // The status query counts each of them once: a finished validation child leaves no live record behind.
    expect(r.status.dft.used).toBe(r.outcome.dft.used);
    expect(r.status.progress ?? []).toEqual([]);
    // Each potential scored with the DFT calls spent; the learning curve re-scores every generation on one set.
    const scored = r.status.metrics.filter((m) => m.validation);
    expect(scored.map((m) => m.generation)).toEqual([0, 1, 2]);
    expect(scored[2]!.validation!.dft_calls).toBe(r.outcome.dft.used);
    expect(scored[2]!.validation!.dft_trained).toBe(r.outcome.dft.labelled - v.labelled);
    expect(v.curve?.points.map((p) => p.generation)).toEqual([0, 1, 2]);
    expect(v.teacher.open).toBe(true);
  });

  it('a refit that scores worse than an earlier potential is not built on, nor handed over', async () => {
    const r = await run('curve-rises', { curveRises: true }, { validation: { share: 0.4, per_pool: 1 } });
    // Generation 1 scored 140 meV/Å against generation 0's 100 on the same set: the campaign goes back to 0.
    expect(r.decisions.find((d) => /^gen 0: best potential: generation 1 scored worse on the 5 validation structures \(140\.0 meV\/Å.*\) than generation 0 \(100\.0 meV\/Å/.test(d))).toBeDefined();
    const fits = (observed.get(`branch-curve-rises-${process.pid}`) ?? []).filter((o) => o.type === 'pacemaker').map((o) => (o.obs as { input: { potential?: { filename?: string } | string } }).input);
    // Generation 2 is refitted from generation 0's potential, not from the worse generation 1.
    expect(JSON.stringify(fits[fits.length - 1])).toMatch(/potentials\/gen-0\/potential\.yaml/);
    expect(JSON.stringify(fits[fits.length - 1])).not.toMatch(/potentials\/gen-1\//);
    // Handed over: generation 0's potential.
    expect(r.outcome.potential).toMatchObject({ generation: 0 });
    expect(r.outcome.potential!.yace).toMatch(/potentials\/gen-0\/potential\.yace$/);
    expect(r.status.metrics.map((m) => m.generation)).toEqual([0, 1, 2]);
  });

  it('an earlier potential that scores lower only through one structure is not taken for better: compared pair by pair', async () => {
    const r = await run('curve-noise', { curveNoise: true }, { validation: { share: 0.4, per_pool: 1 } });
    // Generation 0 scores 40.0 meV/Å, the refits 46.4 (one structure at 100, the other 11 better): beyond the
    // fixed margin, within the paired interval: the campaign goes on with the latest and says why.
    expect(r.decisions.find((d) => /best potential: generation 0 scored lower than 1 on the 12 validation structures \(40\.0 against 46\.4 meV\/Å.*not clearly: pair by pair on 12 structures/.test(d))).toBeDefined();
    expect(r.decisions.find((d) => /scored worse on the/.test(d))).toBeUndefined();
    expect(r.outcome.potential).toMatchObject({ generation: 2 });
  });

  it('the teacher steps aside once the fit without its labels is better on the validation set', async () => {
    const r = await run('teacher-aside', { teacherUnhelpful: true }, { validation: { share: 0.4, per_pool: 1 }, budgets: { dft_total: 30, dft_per_generation: 3, max_generations: 3 } });
    const v = r.status.validation!;
    expect(v.teacher).toMatchObject({ open: false, decidedAt: 1 });
    expect(v.teacher.reason).toContain('do not help');
    // Generation 1 goes on with the fit without the teacher's labels, and the teacher is no longer fine-tuned.
    const g1 = r.status.metrics.find((m) => m.generation === 1)!;
    expect(g1.validation?.variants?.chosen).toBe('dft_only');
    expect(g1.potential).toContain('gen-1-dft-only');
    expect(r.decisions.find((d) => d.startsWith('gen 1: teacher: the teacher stepped aside'))).toBeDefined();
    // From then on one fit, on DFT labels only (no second variant to compare).
    expect(r.status.metrics.find((m) => m.generation === 2)?.validation?.variants).toBeUndefined();
    // What the teacher had labelled of the generated candidates now waits for DFT (once), and the next
    // generation's DFT pool holds it beside the MD frames.
    const obs = observed.get(`branch-teacher-aside-${process.pid}`) ?? [];
    const queued = obs.filter((o) => o.type === 'queue teacher-labelled').map((o) => o.obs as { generation: number; manifest: string });
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({ generation: 0, manifest: '/stand-in/gen-0-distillation/manifest.json' });
    expect(r.decisions).toContain('gen 0: the teacher stepped aside, so the 7 generated candidates it had labelled join the DFT queue (7 waiting): D-optimality picks among them and the MD frames');
    const pools = obs.filter((o) => o.type === 'pool').map((o) => o.obs as { generation: number; teacher: number });
    expect(pools.find((p) => p.generation === 1)?.teacher).toBeGreaterThan(0);
  });
});

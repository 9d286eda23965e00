// Live progress without a server: the campaign's reducer of its children's progress records (late and
// out-of-order signals, live DFT counting), and the words and bar values watchers draw from heartbeats.
import { describe, expect, it } from 'vitest';
import { applyProgress, closeChild, emptyLiveProgress, liveDft, liveRecords, type StepProgress } from '../../common/progress';
import { activityLine, progressLines } from '../../cli/campaigns/progress-text';
import { signature } from '../../cli/campaigns/watch';
import type { LiveActivity, CampaignView } from '../../cli/campaigns/live';
import type { CampaignStatus } from '../../workflows/campaign-api';

const rec = (workflowId: string, seq: number, extra: Partial<StepProgress> = {}): StepProgress => ({
  workflowId,
  workflowType: 'labellingWorkflow',
  step: `step ${seq}`,
  seq,
  at: '2026-01-01T00:00:00Z',
  ...extra,
});
const dft = (done: number, running: string[], failed = 0) => ({ done, total: 6, labelled: done - failed, healed: 0, failed, running });

describe('the campaign side of progress records', () => {
  it('keeps the newest record per child and ignores an older one that arrives late', () => {
    const live = emptyLiveProgress();
    applyProgress(live, rec('c/gen-0/teacher', 2));
    applyProgress(live, rec('c/gen-0/teacher', 1));
    expect(liveRecords(live).map((r) => r.step)).toEqual(['step 2']);
  });

  it('counts DFT of running children live and forgets a child (and its grandchildren) once it returns', () => {
    const live = emptyLiveProgress();
    applyProgress(live, rec('c/gen-0/teacher', 1, { workflowType: 'teacherBootstrapWorkflow' }));
    applyProgress(live, rec('c/gen-0/teacher/dft', 1, { dft: dft(3, ['a', 'b'], 1) }));
    expect(liveDft(live)).toEqual({ done: 3, labelled: 2, healed: 0, failed: 1, running: ['a', 'b'] });
    // outermost first, so a watcher draws the teacher's step above its DFT labelling
    expect(liveRecords(live).map((r) => r.workflowId)).toEqual(['c/gen-0/teacher', 'c/gen-0/teacher/dft']);
    closeChild(live, 'c/gen-0/teacher');
    expect(liveRecords(live)).toEqual([]);
    // a signal sent before the child closed but delivered after: must not count twice
    applyProgress(live, rec('c/gen-0/teacher/dft', 2, { dft: dft(6, []) }));
    expect(liveDft(live).done).toBe(0);
    // a new child of another name still counts
    applyProgress(live, rec('c/gen-0/labelling', 1, { dft: dft(1, ['x']) }));
    expect(liveDft(live)).toMatchObject({ done: 1, running: ['x'] });
  });
});

const act = (type: string, details: Record<string, unknown>, extra: Partial<LiveActivity> = {}): LiveActivity => ({
  workflowId: 'c/gen-0/x',
  activityId: '7',
  type,
  state: 'started',
  attempt: 1,
  startedAt: new Date(Date.parse('2026-01-01T00:00:00Z')).toISOString(),
  details,
  ...extra,
});
const now = Date.parse('2026-01-01T00:00:42Z');

describe('activity heartbeats as progress lines', () => {
  it('DFT: structure, SCF iteration and accuracy, rung of a retried attempt', () => {
    const l = activityLine(act('dftLabel', { structure: 'abc123', attempt: 2, rung: 'beta-0.3-local-TF', scf_iteration: 7, estimated_accuracy_ry: 3.2e-6 }, { attempt: 2 }), now);
    expect(l.label).toBe('DFT abc123');
    expect(l.text).toBe('SCF iteration 7, accuracy 3.2e-6 Ry (attempt 2, rung beta-0.3-local-TF), running 42 s');
    expect(l.total).toBeUndefined();
  });

  it('MACE: member and epoch of max epochs as a bar', () => {
    const l = activityLine(act('trainMace', { member: 'member-1', epoch: 12, max_epochs: 40, loss: 0.0312 }), now);
    expect(l).toMatchObject({ label: 'MACE train member-1', done: 12, total: 40 });
    expect(l.text).toMatch(/^epoch 12\/40, loss 0.0312/);
  });

  it('ACE fit: iteration of maxiter, loss and RMSE', () => {
    const l = activityLine(act('fitAce', { iteration: 20, maxiter: 60, loss: 1.23e-3, rmse_energy_mev_atom: 3.1, rmse_forces_mev_a: 40.12 }), now);
    expect(l).toMatchObject({ done: 20, total: 60 });
    expect(l.text).toBe('iteration 20/60, loss 0.00123, RMSE 3.1 meV/atom, 40.1 meV/Å');
  });

  it('MD: all trajectories in lockstep as one bar, with running, halted and harvested counts', () => {
    const l = activityLine(act('exploreMd', { step: 150, steps: 300, trajectories: 4, running: 3, halted: 1, gamma_max: 2.345, harvested: 5 }), now);
    expect(l).toMatchObject({ label: 'MD', done: 150, total: 300 });
    expect(l.text).toBe('step 150/300, 4 trajectories, 3 running, 1 halted, 5 harvested, max gamma 2.35');
  });

  it('MD one trajectory at a time: which one and its step', () => {
    expect(activityLine(act('exploreMd', { trajectory: 's1-T1200-P0', step: 150, gamma_max: 2.345 }), now).text).toBe('trajectory s1-T1200-P0 step 150, max gamma 2.35');
  });

  it('a quiet or waiting activity still says something', () => {
    expect(activityLine(act('maceLabelBatch', { evaluated: 16, total: 64 }), now)).toMatchObject({ done: 16, total: 64, text: '16/64 structures' });
    expect(activityLine(act('writeDataset', { alive: true, seconds: 5 }), now).text).toBe('running 42 s');
    expect(activityLine(act('writeHtmlReport', { done: 2, total: 5, what: 'figures' }), now)).toMatchObject({ done: 2, total: 5, text: '2/5 figures' });
    expect(activityLine(act('fitAce', { alive: true, seconds: 9, last: 'Loading dataset' }), now).text).toBe('preparing pacemaker: Loading dataset, running 42 s');
    expect(activityLine(act('dftLabel', {}, { state: 'scheduled' }), now)).toMatchObject({ label: 'DFT', text: 'waiting for a worker' });
    // a retry waiting for its next attempt says why the last one failed
    const retry = act('dftLabel', { structure: 'abc' }, { state: 'scheduled', attempt: 2, lastFailure: 'ScfNotConverged: no convergence in 100 iterations\nlog: ...' });
    expect(activityLine(retry, now).text).toBe('waiting for a worker (attempt 2; attempt 1 failed: ScfNotConverged: no convergence in 100 iterations)');
  });
});

describe('what a watcher shows and when it counts as news', () => {
  const status = {
    campaignId: 'c',
    system: 'Si',
    runDir: '/r',
    phase: 'teacher',
    generation: 0,
    paused: false,
    stopAfterGeneration: false,
    current: 'bootstrapping',
    structures: { bySource: {}, byOracle: {} },
    candidates: { generated: 0, keptByTeacher: 0, discarded: 0, rejected: 0, waitingForDft: 0, mdHarvested: 0, mdKeptByTeacher: 0, pickedForDft: 0, notSelected: 0 },
    decisions: [],
    dft: { used: 2, budget: 24, labelled: 2, healed: 0, failed: 0, running: ['a'] },
    thresholds: { accept: 0.1, dft: 0.5, gammaSelect: 2, gammaHalt: 5 },
    teacher: { models: 0, uncertainty: 'ace-gamma' },
    metrics: [],
    progress: [rec('c/gen-0/teacher/dft', 3, { done: 2, total: 10, dft: dft(2, ['a']) })],
  } as CampaignStatus;

  it('draws the DFT budget, the child step and each activity', () => {
    const lines = progressLines(status, [act('dftLabel', { structure: 'a', scf_iteration: 3, estimated_accuracy_ry: 0.01 })], now);
    expect(lines.map((l) => [l.label, l.done, l.total])).toEqual([
      ['DFT budget', 2, 24],
      ['gen-0/teacher/dft', 2, 10],
      ['DFT a', undefined, undefined],
    ]);
    expect(lines[0]!.text).toBe('2/24 used (1 running)');
  });

  it('a clock ticking is not news; a new SCF iteration is', () => {
    const view = (seconds: number, scf: number): CampaignView => ({
      id: 'c',
      workflowStatus: 'RUNNING',
      status,
      children: [],
      activities: [act('dftLabel', { structure: 'a', scf_iteration: scf, estimated_accuracy_ry: 0.01 })],
      at: '',
    });
    const sig = (seconds: number, scf: number) => signature(view(seconds, scf), progressLines(status, view(seconds, scf).activities, now + seconds * 1000));
    expect(sig(0, 3)).toBe(sig(30, 3));
    expect(sig(0, 3)).not.toBe(sig(0, 4));
  });
});

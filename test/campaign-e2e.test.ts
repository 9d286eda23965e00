// The product end to end: a tiny Si campaign through two generations of all four phases on real tools
// (pw.x, MACE, pacemaker, the Temporal server), then the final potential loaded and used.
import { execa } from 'execa';
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
import { recordViews } from './helpers/progress';
import type { CampaignView } from '../cli/campaigns/live';
import { structureHistory } from '../cli/campaigns/history';
import { queryStore } from '../activities/store/store';
import { artifact } from './browser/chromium';
import { projectRoot } from '../host/paths';
import { openReport } from './browser/report-check';

describe('campaign end to end', () => {
  let stop: () => Promise<void>;
  let outcome: CampaignOutcome;
  let status: CampaignStatus;
  let id: string;
  let views: CampaignView[];
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-e2e-'));

  beforeAll(async () => {
    stop = await startTestWorkers();
    const loaded = loadCampaignFile('test/fixtures/campaigns/tiny-si.yaml');
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const client = await testClient();
    id = `e2e-${Date.now()}`;
    const h = await client.workflow.start(campaignWorkflow, { taskQueue: TaskQueues.control, workflowId: id, args: [{ ...loaded.raw, id, run_directory: runDir }] });
    const watching = recordViews(client, id); // what `autopipe status` shows, every second
    outcome = await h.result();
    views = await watching.stop();
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

  it('holds a DFT validation set out of every fit, scores every generation on it and records the teacher gate', async () => {
    const v = status.validation!;
    // tiny-si keeps the schema's validation defaults: at most max_fraction 0.2 of its 14 DFT calls.
    expect(v.labelled).toBeGreaterThan(0);
    expect(v.requested).toBeLessThanOrEqual(2);
    expect(status.structures.bySource.validation).toBeGreaterThan(0);
    const r = await pyJson<{ held: string[]; dft: string[]; sets: Record<string, string[]>; files: Record<string, string[]> }>(`
import glob, gzip, json, os, pickle, sqlite3
from ase.io import read
from activities.structures.commands import structure_id
run = ${JSON.stringify(runDir)}
con = sqlite3.connect(os.path.join(run, 'store.sqlite'))
held = [r[0] for r in con.execute("SELECT structure_id FROM autopipe_structures WHERE split='validation'")]
dft = [r[0] for r in con.execute("SELECT DISTINCT l.structure_id FROM autopipe_labels l JOIN autopipe_structures s USING (structure_id) WHERE s.split='validation' AND l.oracle='dft'")]
sets = {}
for name, sid in con.execute("SELECT set_name, structure_id FROM autopipe_sets"):
    sets.setdefault(name, []).append(sid)
files = {}
for f in glob.glob(os.path.join(run, 'datasets', '*.pckl.gzip')):
    with gzip.open(f) as fh:  # our own run's Pacemaker frames (test code reads what the campaign wrote)
        files[os.path.basename(f)] = [str(x) for x in pickle.load(fh)['name']]
# The teacher's fine-tuning sets (the store's exports carry each frame's structure_id; all-dft is only scored on).
for f in glob.glob(os.path.join(run, 'teacher', '**', '*finetune*.extxyz'), recursive=True):
    files[os.path.relpath(f, run)] = [str(a.info.get('structure_id', structure_id(a))) for a in read(f, ':')]
print(json.dumps({'held': held, 'dft': dft, 'sets': sets, 'files': files}))`);
    // Every validation structure is DFT-labelled and in the store's validation set, and in no training set or file.
    expect(r.held.length).toBe(v.labelled);
    expect(r.dft.sort()).toEqual([...r.held].sort());
    expect([...(r.sets.validation ?? [])].sort()).toEqual([...r.held].sort());
    const held = new Set(r.held);
    const trainingSets = Object.keys(r.sets).filter((k) => k !== 'validation');
    expect(trainingSets).toContain('training');
    for (const k of trainingSets) expect(r.sets[k]!.filter((id) => held.has(id)), `store set ${k}`).toEqual([]);
    expect(Object.keys(r.files).filter((f) => f.includes('training')).length).toBeGreaterThanOrEqual(outcome.generations);
    for (const [f, ids] of Object.entries(r.files)) expect(ids.filter((id) => held.has(id)), f).toEqual([]);
    // Every generation's potential scored on the set, with the DFT calls spent; the learning curve covers them all.
    for (const m of status.metrics) {
      expect(m.validation, `generation ${m.generation}`).toBeDefined();
      expect(m.validation!.structures).toBeGreaterThan(0);
      expect(m.validation!.potential.overall.forces_rmse_mev_a).toBeGreaterThan(0);
      expect(m.validation!.teacher?.overall.forces_rmse_mev_a).toBeGreaterThan(0);
    }
    expect(status.metrics[status.metrics.length - 1]!.validation!.dft_calls).toBe(outcome.dft.used);
    expect(v.curve?.points.map((p) => p.generation)).toEqual(status.metrics.map((m) => m.generation));
    expect(JSON.parse(readFileSync(path.join(runDir, 'validation', 'learning-curve.json'), 'utf8')).points).toHaveLength(status.metrics.length);
    // The teacher gate: at generation 0 already (the teacher's seed DFT labels give a DFT-only fit to compare
    // with), again after every fit while the teacher's labels train, never after it stepped aside; recorded
    // in the status, the decisions and the report.
    expect(status.metrics[0]!.validation!.variants).toBeDefined();
    expect(v.teacher.decidedAt).toBeDefined();
    for (const m of status.metrics) {
      const chosen = m.validation!.variants?.chosen;
      if (m.generation < v.teacher.decidedAt!) expect(chosen, `generation ${m.generation}`).toBe('with_teacher');
      if (m.generation === v.teacher.decidedAt) expect(chosen).toBe(v.teacher.open ? 'with_teacher' : 'dft_only');
      if (m.generation > v.teacher.decidedAt!) expect(chosen).toBeUndefined();
    }
    if (v.teacher.open) expect(v.teacher.decidedAt).toBe(status.metrics[status.metrics.length - 1]!.generation);
    const gate = status.decisions.flatMap((d) => d.decisions).filter((d) => d.startsWith('teacher gate (generation'));
    expect(gate.length).toBeGreaterThan(0);
    const report = readFileSync(outcome.report, 'utf8');
    expect(report).toContain('Validation set:');
    expect(report).toContain('Learning curve');
    expect(report).toContain(gate[0]!);
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

  it('status showed every phase and the work inside it while it ran, DFT counted live', () => {
    const phases = new Set(views.map((v) => v.status!.phase));
    for (const p of ['teacher', 'distillation', 'exploration', 'labelling', 'finetune']) expect(phases, p).toContain(p);
    // the teacher's seed DFT counted while its child still ran (issue: "DFT: 0/24 used" during the teacher)
    const teacher = views.filter((v) => v.status!.phase === 'teacher');
    expect(Math.max(...teacher.map((v) => v.status!.dft.used))).toBeGreaterThan(0);
    expect(teacher.some((v) => v.status!.progress?.some((p) => p.dft && p.dft.running.length > 0)), 'a DFT record with structures running').toBe(true);
    // the seed labelling's last record arrives before it closes: while the committee trains, all seeds count
    const seeds = status.structures.bySource.teacher_seed!;
    const training = teacher.filter((v) => v.status!.progress?.some((p) => p.step.startsWith('training')));
    expect(training.length, 'views while the committee trained').toBeGreaterThan(0);
    for (const v of training) expect(v.status!.dft.used, 'DFT used while the committee trains').toBe(seeds);
    // Heartbeats of the activities in flight, as status reads them. pw.x runs long enough here to be seen
    // mid-SCF; the tiny MACE and ACE fits may finish between two polls, so for them the heartbeat must at
    // least name what runs (what epochs and iterations look like is the unit tests' and the demo's part).
    const beats = views.flatMap((v) => v.activities);
    const saw = (what: string, ok: (a: (typeof beats)[number]) => boolean) => expect(beats.some(ok), what).toBe(true);
    saw('a DFT heartbeat with its structure and SCF iteration', (a) => a.type === 'dftLabel' && typeof a.details?.scf_iteration === 'number' && typeof a.details?.structure === 'string');
    saw('a MACE training heartbeat naming its member', (a) => a.type === 'trainMace' && String(a.details?.member).startsWith('member-') && (typeof a.details?.epoch === 'number' || typeof a.details?.setup === 'string'));
    saw('an ACE fit heartbeat (iteration and loss, or pacemaker\'s latest line)', (a) => a.type === 'fitAce' && ((typeof a.details?.iteration === 'number' && typeof a.details?.loss === 'number') || typeof a.details?.last === 'string'));
  });

  it('writes an HTML report that renders in headless Chromium: every image loads, every section has content', async () => {
    const file = path.join(outcome.runDir, 'report', 'index.html');
    const r = await openReport(file, artifact('campaign-report.png'));
    expect(r.images.length).toBeGreaterThanOrEqual(3); // two learning curves, a gamma histogram per exploration
    for (const img of r.images) expect(img.naturalWidth, img.alt).toBeGreaterThan(0);
    for (const [id, text] of Object.entries(r.sections)) expect(text.length, id).toBeGreaterThan(20);
    expect(Object.keys(r.sections)).toEqual(['summary', 'learning-curve', 'parity', 'generations', 'exploration', 'ledger', 'cost']);
    // one ledger row per DFT calculation, each linked to the exact activity event in the Temporal UI
    const activityLinks = r.links.filter((l) => /\/history\/events\/\d+$/.test(l));
    expect(activityLinks.length).toBe(outcome.dft.used);
    expect(r.sections.cost).toMatch(/DFT core-hours spent\s+0\.\d+/);
  });

  it('tells one structure\'s story: made, labelled by DFT, trained on', async () => {
    // a structure DFT labelled in generation 0 (an MD or teacher-doubted pick, not a seed): generation 1's
    // ACE fit trained on it as new data
    const dft = await queryStore({ runDir: outcome.runDir, filter: { oracle: 'dft', labelState: 'labelled', generation: 0 }, limit: 1000 });
    const manifest = JSON.parse(readFileSync(path.join(outcome.runDir, 'datasets', 'gen-1-training.manifest.json'), 'utf8')) as { new: string[] };
    const picked = dft.ids.find((i) => manifest.new.includes(i))!;
    expect(picked, 'a generation-0 DFT label in generation 1\'s new training data').toBeDefined();
    const gen0 = { name: picked };
    const h = await structureHistory(gen0.name.slice(0, 10), { runDir: outcome.runDir });
    expect(h.structure.structure_id).toBe(gen0.name);
    expect(h.structure.labels.map((l) => l.oracle)).toContain('dft');
    expect(h.dft?.status).toBe('labelled');
    expect(h.dft?.attempts[0]?.wallSeconds).toBeGreaterThan(0);
    expect(h.trainedBy).toContainEqual({ what: 'ace-fit', generation: 1, how: 'new data' });
    // generation 0's fine-tune (the committee of generation 1) trained on it, as the store's teacher sets say
    if (status.metrics[0]?.teacher?.trainedOn) expect(h.trainedBy).toContainEqual({ what: 'teacher', generation: 1, how: 'committee fine-tune on the new DFT labels' });
  });

  it('the read commands answer with --json through the real CLI', async () => {
    const cli = (...args: string[]) => execa(process.execPath, [path.join(projectRoot, 'bin', 'autopipe.mjs'), ...args], { cwd: projectRoot, env: process.env, reject: false });
    const [list, st, rep] = await Promise.all([cli('list', '--json'), cli('status', id, '--json'), cli('report', id, '--json')]);
    expect(list.exitCode, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).find((r: { id: string }) => r.id === id)).toMatchObject({ workflowStatus: 'COMPLETED', phase: 'finished', dftUsed: outcome.dft.used });
    expect(st.exitCode, st.stderr).toBe(0);
    expect(JSON.parse(st.stdout)).toMatchObject({ campaignId: id, status: 'COMPLETED', outcome: `stopped: ${outcome.stopReason}; report ${outcome.report}`, recorded: { phase: 'finished', dft: { used: outcome.dft.used } } });
    expect(rep.exitCode, rep.stderr).toBe(0);
    expect(JSON.parse(rep.stdout)).toMatchObject({ file: path.join(outcome.runDir, 'report', 'index.html'), dftCalculations: outcome.dft.used, runDir: outcome.runDir });
  });
});

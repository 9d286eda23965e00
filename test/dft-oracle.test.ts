// The DFT oracle on real pw.x: parsing equals ASE's own reading, self-healing across Temporal retries,
// typed non-retryable failures, kill-and-retry, and idempotent labels (pw.x starts counted).
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DftSchema } from '../common/campaign-schema';
import { projectRoot, pythonExe } from '../host/paths';
import { TaskQueues } from '../common/queues';
import { dftHelperServer } from '../activities/runtime/helper-server';
import { dftLabel, dftLabelKey, jobDirFor, type DftLabel } from '../activities/dft/qe';
import { labellingWorkflow } from '../workflows/labelling';
import { pyJson, structureIds } from './helpers/python';
import { storedLabels } from './helpers/store';
import { startTestWorkers, testClient } from './helpers/temporal';

const wrapper = path.join(projectRoot, 'test', 'fixtures', 'pw-counting.sh');
const base = { pseudopotentials: { Si: 'Si.pz-vbc.UPF' }, ecutwfc: 18, smearing: 'none' as const, command: wrapper };
const tmp = (p: string) => mkdtempSync(path.join(os.tmpdir(), `autopipe-dft-${p}-`));
let cells: string;
/** The cells' structure ids: content hashes (the store keys structures by content). */
let id: string[] = [];
let countFile: string;
const pwStarts = () => (existsSync(countFile) ? readFileSync(countFile, 'utf8').trim().split('\n').filter(Boolean).length : 0);

beforeAll(async () => {
  const dir = tmp('cells');
  cells = path.join(dir, 'si.extxyz');
  await execa(pythonExe, [path.join(projectRoot, 'test', 'fixtures', 'si_cells.py'), cells]);
  id = await structureIds(cells);
  countFile = path.join(dir, 'pw-starts.txt');
  process.env.PW_COUNT_FILE = countFile;
});

describe('pw.x through the DFT activity', () => {
  for (const [index, natoms] of [[0, 2], [1, 8]] as const) {
    it(`${natoms}-atom Si: energy, forces and stress equal ASE's reading of the same output`, async () => {
      const runDir = tmp(`si${natoms}`);
      const dft = DftSchema.parse({ ...base, kspacing: 0.09 });
      const ref = await dftLabel({ runDir, structureId: id[index]!, structureFile: cells, index, dft });
      const label = JSON.parse(readFileSync(ref.labelFile, 'utf8')) as DftLabel;
      const out = path.join(jobDirFor(runDir, id[index]!, ref.labelKey), 'attempt-1', 'espresso.pwo');
      const ase = await pyJson<{ e: number; f: number[][]; s: number[] }>(`
import json
from ase.io import read
a = read(${JSON.stringify(out)}, format='espresso-out')
print(json.dumps({'e': a.get_potential_energy(), 'f': a.get_forces().tolist(), 's': a.get_stress().tolist()}))`);
      expect(Math.abs(label.energy - ase.e)).toBeLessThan(1e-6);
      expect(label.forces).toHaveLength(natoms);
      label.forces.flat().forEach((f, i) => expect(Math.abs(f - ase.f.flat()[i]!)).toBeLessThan(1e-9));
      label.stress.forEach((s, i) => expect(Math.abs(s - ase.s[i]!)).toBeLessThan(1e-9));
      // A rattled cell: real forces that cancel (Newton's third law, no net force on the cell).
      const fmax = Math.max(...label.forces.flat().map(Math.abs));
      expect(fmax).toBeGreaterThan(0.05);
      for (const k of [0, 1, 2]) expect(Math.abs(label.forces.reduce((s, f) => s + f[k]!, 0))).toBeLessThan(0.01);
      expect(label.provenance.qe_version).toMatch(/^6\./);
      expect(label.provenance.kpts).toHaveLength(3);
    });
  }

  it('writes inputs and reads outputs through one long-lived helper, not a Python start per call', async () => {
    const server = dftHelperServer();
    const dft = DftSchema.parse({ ...base, kspacing: 0.09 });
    await dftLabel({ runDir: tmp('warm'), structureId: id[0]!, structureFile: cells, index: 0, dft });
    const [starts, pid] = [server.starts, server.pid];
    expect(pid).toBeGreaterThan(0);
    const dir = tmp('helper');
    const ref = await dftLabel({ runDir: dir, structureId: id[0]!, structureFile: cells, index: 0, dft });
    expect([server.starts, server.pid]).toEqual([starts, pid]);
    expect(existsSync(path.join(jobDirFor(dir, id[0]!, ref.labelKey), 'attempt-1', 'espresso.pwi'))).toBe(true);
  });

  it('cancelled while its input is written: no pw.x start, and the shared helper keeps serving', async () => {
    const server = dftHelperServer();
    const dft = DftSchema.parse({ ...base, kspacing: 0.09 });
    await dftLabel({ runDir: tmp('pre-cancel-warm'), structureId: id[0]!, structureFile: cells, index: 0, dft });
    const [pid, before] = [server.pid, pwStarts()];
    const env = new MockActivityEnvironment();
    env.cancel(); // already cancelled when the activity asks the helper for the input file
    const err = await env.run(dftLabel, { runDir: tmp('pre-cancel'), structureId: id[0]!, structureFile: cells, index: 0, dft }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledFailure);
    expect(pwStarts()).toBe(before);
    expect(server.pid).toBe(pid); // a DFT request is not worth killing the server other slots use
  });

  it('a missing pseudopotential fails non-retryably, says what to fix, and never starts pw.x', async () => {
    const before = pwStarts();
    const dft = DftSchema.parse({ ...base, pseudopotentials: { Si: 'Si.does-not-exist.UPF' } });
    const err = await dftLabel({ runDir: tmp('nopseudo'), structureId: id[0]!, structureFile: cells, dft }).catch((e) => e);
    expect(err.type).toBe('MissingPseudopotential');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain('pseudopotential file for Si not found: /usr/share/espresso/pseudo/Si.does-not-exist.UPF');
    expect(pwStarts()).toBe(before);
  });

  it('overlapping atoms are rejected as unphysical before pw.x', async () => {
    const dir = tmp('overlap');
    const file = path.join(dir, 'bad.extxyz');
    await execa(pythonExe, ['-c', `from ase.build import bulk; from ase.io import write; a=bulk('Si','diamond',a=5.43); a.positions[1]=a.positions[0]+[0.3,0,0]; write(${JSON.stringify(file)}, a)`]);
    const before = pwStarts();
    const err = await dftLabel({ runDir: dir, structureId: 'bad', structureFile: file, dft: DftSchema.parse(base) }).catch((e) => e);
    expect(err.type).toBe('UnphysicalStructure');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/atoms are 0\.300 Å apart/);
    expect(pwStarts()).toBe(before);
  });
});

describe('labelling workflow on the real server', () => {
  let stop: () => Promise<void>;
  beforeAll(async () => {
    stop = await startTestWorkers(['control', 'dft']);
  });
  afterAll(async () => stop?.());

  it('heals a too-short SCF by diagnosis (slow: twice the steps from its density); the history and the disk show each attempt', async () => {
    const runDir = tmp('heal');
    // electron_maxstep 4 cannot converge Si at conv_thr 1e-8, but the accuracy falls every step: "slow".
    const dft = DftSchema.parse({ ...base, kspacing: 0.09, electron_maxstep: 4 });
    const client = await testClient();
    const h = await client.workflow.start(labellingWorkflow, { taskQueue: TaskQueues.control, workflowId: `heal-${Date.now()}`, args: [{ runDir, dft, structureFile: cells, ids: [id[0]!] }] });
    const r = await h.result();
    expect(r).toMatchObject({ labelled: 1, healed: 1, physicsChanged: 0, failed: 0 });
    const label = JSON.parse(readFileSync(r.labels[0]!.labelFile, 'utf8')) as DftLabel;
    const p = label.provenance;
    expect(p.remedies![0]).toMatchObject({ attempt: 1, diagnosis: 'slow', remedy: 'steps-8' });
    expect(p.remedies!.every((x) => x.diagnosis === 'slow')).toBe(true);
    expect(p).toMatchObject({ healed: true, genuine_failures: p.remedies!.length, attempt: p.remedies!.length + 1 });
    expect(p.physics_changed).toBeUndefined();
    expect(label.labelKey).toBe(dftLabelKey(id[0]!, dft)); // same physics, same key
    // Each genuine failure is a Temporal retry with the diagnosis in its failure message.
    const started = ((await h.fetchHistory()).events ?? []).map((e) => e.activityTaskStartedEventAttributes).find((a) => a?.attempt === 2);
    expect(started?.lastFailure?.applicationFailureInfo?.type).toBe('ScfNotConverged');
    expect(started?.lastFailure?.message).toMatch(/diagnosis: slow: .*next attempt: steps-8/);
    const job = jobDirFor(runDir, id[0]!, label.labelKey);
    expect(readFileSync(path.join(job, 'attempt-1', 'espresso.pwo'), 'utf8')).toContain('convergence NOT achieved');
    expect(JSON.parse(readFileSync(path.join(job, 'attempt-1', 'outcome.json'), 'utf8')).diagnosis.kind).toBe('slow');
    expect(JSON.parse(readFileSync(path.join(job, 'attempt-2', 'attempt.json'), 'utf8'))).toMatchObject({ remedy: 'steps-8', restart_from_density: true });
    expect(readFileSync(path.join(job, 'attempt-2', 'espresso.pwi'), 'utf8')).toMatch(/startingpot\s*=\s*'file'/);
  });

  it('a Gamma-point fixed-occupation Si-8 cell that plain settings cannot converge is healed: mixing, then smearing as the last resort', async () => {
    const runDir = tmp('gamma');
    const file = path.join(runDir, 'si8-gamma.extxyz');
    // The reported case: rattled 8-atom Si at Gamma (kspacing 0.25) with smearing none sloshes for ever.
    await execa(pythonExe, ['-c', `from ase.build import bulk; from ase.io import write; a=bulk('Si','diamond',a=5.43,cubic=True); a.rattle(0.1, seed=0); write(${JSON.stringify(file)}, a)`]);
    const [g8] = await pyJson<string[]>(`
import json
from ase.io import read
from activities.structures.commands import structure_id
print(json.dumps([structure_id(read(${JSON.stringify(file)}))]))`);
    const dft = DftSchema.parse({ ...base, ecutwfc: 16, kspacing: 0.25, electron_maxstep: 20, train_physics_changed: false });
    const client = await testClient();
    const r = await client.workflow.execute(labellingWorkflow, { taskQueue: TaskQueues.control, workflowId: `gamma-${Date.now()}`, args: [{ runDir, dft, structureFile: file, ids: [g8!] }] });
    expect(r).toMatchObject({ labelled: 1, healed: 1, physicsChanged: 1, failed: 0, labels: [] });
    expect(r.untrained).toHaveLength(1); // train_physics_changed: false keeps it out of training
    const label = JSON.parse(readFileSync(r.untrained[0]!.labelFile, 'utf8')) as DftLabel;
    const p = label.provenance;
    expect(p.remedies!.map((x) => [x.diagnosis, x.remedy])).toEqual([
      ['sloshing', 'beta-0.3-local-TF'],
      ['sloshing', 'beta-0.1-ndim-12'],
      ['sloshing', 'smearing-mv-0.01'],
    ]);
    expect(p).toMatchObject({ healed: true, genuine_failures: 3, rung: 'smearing-mv-0.01', physics_changed: { smearing: { from: 'none', to: 'mv' }, degauss: { from: null, to: 0.01 } } });
    expect(p.parameters).toMatchObject({ system: { occupations: 'smearing', smearing: 'mv', degauss: 0.01 } });
    // Its key is the key of the physics it has: a store or dataset never mixes it with fixed-occupation labels.
    expect(label.labelKey).toBe(dftLabelKey(g8!, { ...dft, smearing: 'mv', degauss: 0.01 }));
    expect(label.labelKey).not.toBe(p.job_key);
    expect(r.untrained[0]!.labelFile).toContain(`label-${p.job_key}.json`);
    // The store holds it under that key (flagged by its provenance), none under the requested one.
    const stored = (await storedLabels(runDir, [g8!], 'dft'))[g8!]!;
    expect(stored.map((l) => l.settings_hash)).toEqual([label.labelKey]);
    expect(stored[0]!.provenance).toMatchObject({ physics_changed: { smearing: { from: 'none', to: 'mv' } } });
  });

  it('a forced Cholesky failure is healed by the diagonalisation change (Davidson -> cg), physics untouched', async () => {
    const runDir = tmp('cholesky');
    const dft = DftSchema.parse({ ...base, kspacing: 0.09, command: path.join(projectRoot, 'test', 'fixtures', 'pw-cholesky.sh') });
    const client = await testClient();
    const r = await client.workflow.execute(labellingWorkflow, { taskQueue: TaskQueues.control, workflowId: `chol-${Date.now()}`, args: [{ runDir, dft, structureFile: cells, ids: [id[0]!] }] });
    expect(r).toMatchObject({ labelled: 1, healed: 1, physicsChanged: 0, failed: 0 });
    const label = JSON.parse(readFileSync(r.labels[0]!.labelFile, 'utf8')) as DftLabel;
    expect(label.provenance.remedies).toEqual([{ attempt: 1, diagnosis: 'cholesky', detail: expect.stringContaining('cdiaghg'), remedy: 'diag-cg' }]);
    expect(label.provenance).toMatchObject({ rung: 'diag-cg', parameters: { electrons: { diagonalization: 'cg' } } });
    expect(label.labelKey).toBe(dftLabelKey(id[0]!, dft));
  });

  it('a job that used up its retries fails at once when asked again (a restarted campaign), without pw.x', async () => {
    const runDir = tmp('exhausted');
    const dft = DftSchema.parse({ ...base, kspacing: 0.09, electron_maxstep: 1, max_retries: 0 });
    const first = await dftLabel({ runDir, structureId: id[0]!, structureFile: cells, index: 0, dft }).catch((e) => e);
    expect(first).toMatchObject({ type: 'ScfNotConverged', nonRetryable: true });
    const before = pwStarts();
    const again = await dftLabel({ runDir, structureId: id[0]!, structureFile: cells, index: 0, dft }).catch((e) => e);
    expect(again).toMatchObject({ type: 'ScfNotConverged', nonRetryable: true, message: expect.stringMatching(/^already failed 1 times/) });
    expect(pwStarts()).toBe(before);
    // More retries allowed (max_retries is not physics): the same job continues its ladder, one attempt
    // per call as Temporal's retries would make them.
    let healed: Awaited<ReturnType<typeof dftLabel>> | undefined;
    for (let i = 0; i < 7 && !healed; i++) {
      healed = await dftLabel({ runDir, structureId: id[0]!, structureFile: cells, index: 0, dft: { ...dft, max_retries: 6 } }).catch((e) => {
        if (e.nonRetryable) throw e;
        return undefined;
      });
    }
    expect(healed).toMatchObject({ healed: true, physicsChanged: false });
  });

  it('asking twice for the same labels runs pw.x once per structure', async () => {
    const runDir = tmp('idem');
    const dft = DftSchema.parse({ ...base, kspacing: 0.09 });
    const client = await testClient();
    const before = pwStarts();
    const args = [{ runDir, dft, structureFile: cells, ids: [id[0]!, id[1]!] }] as [Parameters<typeof labellingWorkflow>[0]];
    const r1 = await client.workflow.execute(labellingWorkflow, { taskQueue: TaskQueues.control, workflowId: `idem1-${Date.now()}`, args });
    expect(pwStarts() - before).toBe(2);
    const r2 = await client.workflow.execute(labellingWorkflow, { taskQueue: TaskQueues.control, workflowId: `idem2-${Date.now()}`, args });
    expect(pwStarts() - before).toBe(2);
    expect(r1).toMatchObject({ labelled: 2, reused: 0 });
    expect(r2).toMatchObject({ labelled: 2, reused: 2 });
    expect(r2.labels.map((l) => l.labelFile)).toEqual(r1.labels.map((l) => l.labelFile));
  });

  it('a missing pseudopotential marks the structure failed with the reason; the rest are labelled', async () => {
    const runDir = tmp('fail');
    const dft = DftSchema.parse({ ...base, kspacing: 0.09, pseudopotentials: { Si: 'nope.UPF' } });
    const client = await testClient();
    const r = await client.workflow.execute(labellingWorkflow, { taskQueue: TaskQueues.control, workflowId: `fail-${Date.now()}`, args: [{ runDir, dft, structureFile: cells, ids: [id[0]!, id[1]!] }] });
    expect(r).toMatchObject({ labelled: 0, failed: 2 });
    expect(r.failures[0]!.reason).toMatch(/^MissingPseudopotential: pseudopotential file for Si not found/);
    const failed = readdirSync(path.join(runDir, 'dft', id[0]!)).filter((f) => f.startsWith('failed-'));
    expect(failed).toHaveLength(1);
  });

  it('pw.x killed mid-run is retried and labelled', async () => {
    const runDir = tmp('kill');
    // A slower SCF (8 atoms, denser k-points) so there is time to kill it.
    const dft = DftSchema.parse({ ...base, ecutwfc: 24, kspacing: 0.05 });
    const client = await testClient();
    const h = await client.workflow.start(labellingWorkflow, { taskQueue: TaskQueues.control, workflowId: `kill-${Date.now()}`, args: [{ runDir, dft, structureFile: cells, ids: [id[0]!, id[1]!] }] });
    // Find this test's pw.x (cwd inside runDir/dft/k8) and SIGKILL it.
    let killed = false;
    for (let i = 0; i < 300 && !killed; i++) {
      await new Promise((res) => setTimeout(res, 200));
      const pids = (await execa('pgrep', ['-x', 'pw.x'], { reject: false })).stdout.split('\n').filter(Boolean);
      for (const pid of pids) {
        const cwd = await execa('readlink', [`/proc/${pid}/cwd`], { reject: false });
        if (cwd.stdout.startsWith(path.join(runDir, 'dft', id[1]!))) {
          process.kill(Number(pid), 'SIGKILL');
          killed = true;
        }
      }
    }
    expect(killed).toBe(true);
    const r = await h.result();
    expect(r).toMatchObject({ labelled: 2, failed: 0 });
    const k8 = r.labels.find((l) => l.structureId === id[1])!;
    const label = JSON.parse(readFileSync(k8.labelFile, 'utf8')) as DftLabel;
    // A kill from outside is infrastructure: the same settings again, no retry used, not "healed".
    expect(label.provenance).toMatchObject({ attempt: 2, temporal_attempt: 2, rung: 'default', healed: false, genuine_failures: 0 });
    expect(r.healed).toBe(0);
    // The killed job's second start carries the kill. On a loaded machine the other structure's activity
    // may be retried too (a missed heartbeat), so look for the kill among all second starts, not the first.
    const started = ((await h.fetchHistory()).events ?? []).map((e) => e.activityTaskStartedEventAttributes).filter((a) => a?.attempt === 2);
    expect(started.filter((a) => a?.lastFailure?.applicationFailureInfo?.type === 'ProcessKilled')).toHaveLength(1);
  });
});

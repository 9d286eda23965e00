// DFT labelling on a real Slurm cluster (slurm-wlm 22.05: munged, slurmctld and slurmd on this machine,
// started by the test through scripts/hpc/slurm-cluster.sh). The campaign's dft section (launcher:
// slurm) goes to labellingWorkflow as plain JSON, the DFT worker is a separate `autopipe worker` process.
// - the worker SIGKILLed while a job runs: the job runs on, the retried activity re-attaches to it, the
//   job runs once (one submission, one pw.x start, one line in Slurm's completion log) and its label is
//   the one the workflow returns;
// - Slurm's time-limit warning stops pw.x softly and the retry restarts from the saved charge density;
// - a node failure (NODE_FAIL) is retried with a new job; cancelling the workflow scancels its job.
import { execa, type ResultPromise } from 'execa';
import { defaultPayloadConverter } from '@temporalio/common';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadCampaignFile } from '../cli/campaign-file';
import type { DftSettings } from '../common/campaign-schema';
import { TaskQueues } from '../common/queues';
import { projectRoot, pythonExe } from '../host/paths';
import type { ApplicationFailure } from '@temporalio/common';
import { dftLabel, dftLabelKey, jobDirFor, type DftLabel } from '../activities/dft/qe';
import { jobLogFile, jobRecordFile, type JobRecord } from '../activities/dft/launch-slurm';
import type { LabellingInput, LabellingResult } from '../workflows/labelling';
import { startTestWorkers, testClient, useOwnNamespace } from './helpers/temporal';
import { structureIds } from './helpers/python';
import { jobState, slurmCmd, slurmUnavailable, startSlurmCluster } from './helpers/slurm';

const cli = path.join(projectRoot, 'bin', 'autopipe.mjs');
const wrapper = path.join(projectRoot, 'test', 'fixtures', 'pw-counting.sh');
const skip = slurmUnavailable();
if (skip) console.warn(`[slurm-dft] SKIPPED: ${skip}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, seconds = 120): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}`);
    await sleep(200);
  }
}

describe.skipIf(skip)(`DFT labelling through Slurm${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-slurm-'));
  const cells = path.join(dir, 'si.extxyz'); // index 0: 2-atom Si, 1: 8-atom Si (test/fixtures/si_cells.py)
  const cells8 = path.join(dir, 'si8.extxyz'); // the 8-atom cell alone: an SCF long enough to interrupt
  const countFile = path.join(dir, 'pw-starts.txt');
  const workers: ResultPromise[] = [];
  const touched: string[] = []; // jobs a test suspends: never left behind on a failure
  let stopControl: () => Promise<void>;
  let dft: DftSettings;
  // The cells' structure ids (content hashes: the store keys structures by content): 2- and 8-atom Si.
  let id2 = '';
  let id8 = '';

  const startDftWorker = () => {
    const w = execa(process.execPath, [cli, 'worker', '--queues', 'dft', '--slots', 'dft=4', '--grace', '1'], { env: { ...process.env, PW_COUNT_FILE: countFile }, reject: false, all: true });
    workers.push(w);
    return w;
  };
  const key = (id: string) => dftLabelKey(id, dft);
  const record = (runDir: string, id: string) => {
    const f = jobRecordFile(jobDirFor(runDir, id, key(id)), key(id));
    return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as JobRecord) : undefined;
  };
  const events = (runDir: string, id: string) => {
    const f = jobLogFile(jobDirFor(runDir, id, key(id)));
    return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) : [];
  };
  const pwStarts = (runDir: string, id: string) =>
    existsSync(countFile) ? readFileSync(countFile, 'utf8').split('\n').filter((l) => l.includes(path.join(runDir, 'dft', id) + path.sep)).length : 0;
  /** The job of an attempt once pw.x is inside its SCF (so there is something to interrupt). */
  const runningJob = (runDir: string, id: string, attemptDir = 'attempt-1') =>
    until(`${id}'s job in its SCF`, async () => {
      const r = record(runDir, id);
      if (!r?.jobId || path.basename(r.dir) !== attemptDir) return undefined;
      const out = path.join(r.dir, 'espresso.pwo');
      if (!existsSync(out) || !readFileSync(out, 'utf8').includes('iteration #')) return undefined;
      if ((await jobState(r.jobId)) !== 'RUNNING') return undefined;
      touched.push(r.jobId);
      return r.jobId;
    });
  const start = async (name: string, ids: string[], structureFile = cells8) => {
    const runDir = path.join(dir, name);
    const client = await testClient();
    const input: LabellingInput = { runDir, dft, structureFile, ids };
    // By name, with plain JSON: what the Temporal UI's "Start workflow" form sends.
    const h = await client.workflow.start('labellingWorkflow', { taskQueue: TaskQueues.control, workflowId: `${name}-${Date.now()}`, args: [JSON.parse(JSON.stringify(input))] });
    return { runDir, h, client };
  };

  beforeAll(async () => {
    const conf = await startSlurmCluster();
    console.log(`[slurm-dft] cluster: ${conf}\n${await slurmCmd('sinfo', ['-N', '-o', '%N %c %t %P'])}`);
    const loaded = loadCampaignFile(path.join(projectRoot, 'test', 'fixtures', 'campaigns', 'slurm-si.yaml'));
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    dft = { ...loaded.campaign.dft, command: wrapper }; // the wrapper counts pw.x starts, then execs pw.x
    await execa(pythonExe, [path.join(projectRoot, 'test', 'fixtures', 'si_cells.py'), cells]);
    await execa(pythonExe, ['-c', `from ase.io import read, write; write(${JSON.stringify(cells8)}, read(${JSON.stringify(cells)}, index=1))`]);
    [id2, id8] = (await structureIds(cells)) as [string, string];
    await useOwnNamespace('slurm');
    stopControl = await startTestWorkers(['control']);
    startDftWorker();
  });
  afterAll(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await stopControl?.();
    if (touched.length) await slurmCmd('scancel', touched).catch(() => undefined);
  });
  // A test that fails while its job is suspended must not leave the one-node cluster blocked for the next,
  // nor one that fails after killing the DFT worker leave the next without one.
  afterEach(async () => {
    if (touched.length) await slurmCmd('scancel', touched.splice(0)).catch(() => undefined);
    const last = workers[workers.length - 1];
    if (!last || last.exitCode !== null || last.signalCode !== null) startDftWorker();
  });
  /** The heartbeat details the server holds for the workflow's pending activities that name the job. */
  const beatNaming = async (h: { describe(): Promise<{ raw: { pendingActivities?: { heartbeatDetails?: { payloads?: unknown[] | null } | null }[] | null } }> }, job: string) => {
    const pending = (await h.describe()).raw.pendingActivities ?? [];
    const details = pending.flatMap((a) => (a.heartbeatDetails?.payloads ?? []).map((p) => defaultPayloadConverter.fromPayload(p as never) as { job_id?: string }));
    return details.find((d) => d.job_id === job);
  };

  it('a worker SIGKILLed while its job runs: the job runs once, the retry re-attaches, its label is used', { timeout: 8 * 60_000 }, async () => {
    const { runDir, h } = await start('kill', [id2, id8], cells);
    const job = await runningJob(runDir, id8);
    // The SDK throttles heartbeats (a few seconds): wait until the server holds one naming the job, so
    // the kill below certainly comes after it (a kill inside the throttle window loses the latest one).
    await until('a heartbeat naming the job to reach the server', () => beatNaming(h, job), 60);
    const killed = workers[workers.length - 1]!;
    const stateAtKill = await jobState(job);
    killed.kill('SIGKILL');
    expect((await killed).signal).toBe('SIGKILL');
    // Hold the job where it is, so the retried attempt demonstrably re-attaches to a job still in the
    // queue (and not just to a finished output); then let it finish.
    await slurmCmd('scontrol', ['suspend', job]);
    // The dead attempt's heartbeat details keep naming the job (what the UI shows while no worker runs).
    const beat = await beatNaming(h, job);
    expect(beat).toMatchObject({ launcher: 'slurm', job_id: job, attempt_dir: path.join(jobDirFor(runDir, id8, key(id8)), 'attempt-1') });
    const k2AtKill = record(runDir, id2);
    const k2StateAtKill = k2AtKill?.jobId ? await jobState(k2AtKill.jobId) : 'not submitted';
    console.log(`[slurm-dft] worker SIGKILLed; job ${job} (k8) was ${stateAtKill} and is now suspended; job ${k2AtKill?.jobId} (k2) was ${k2StateAtKill}; label files so far: k2 ${existsSync(path.join(runDir, 'dft', id2, `label-${key(id2)}.json`))}`);
    startDftWorker();
    const reattached = await until('the retried attempt to re-attach to the job', () => record(runDir, id8)?.reattachedBy[0], 150);
    expect(reattached).toMatchObject({ state: 'SUSPENDED' });
    expect(reattached.attempt).toBeGreaterThan(1);
    await slurmCmd('scontrol', ['resume', job]);

    const r = (await h.result()) as LabellingResult;
    expect(r).toMatchObject({ labelled: 2, failed: 0 });
    for (const id of [id2, id8]) {
      const rec = record(runDir, id)!;
      const submitted = events(runDir, id).filter((e) => e.event === 'submitted');
      expect(submitted).toHaveLength(1); // one job per structure, never a second submission
      expect(submitted[0]!.job_id).toBe(rec.jobId);
      expect(pwStarts(runDir, id)).toBe(1); // and pw.x started once inside it
      // Slurm's own record: the job ran to completion once.
      const done = (await slurmCmd('sacct', ['--completion', '-n', '-P', '-o', 'JobID,JobName,State'])).split('\n').filter((l) => l.split('|')[1] === rec.jobName);
      expect(done).toEqual([`${rec.jobId}|${rec.jobName}|COMPLETED`]);
      // The label the workflow returns is the one that job wrote.
      const labelFile = r.labels.find((l) => l.structureId === id)!.labelFile;
      const label = JSON.parse(readFileSync(labelFile, 'utf8')) as DftLabel;
      expect(label.provenance.job).toMatchObject({ launcher: 'slurm', job_id: rec.jobId, state: 'COMPLETED' });
      expect(label.provenance).toMatchObject({ attempt: 1, healed: false }); // run by the first attempt's job
      console.log(`[slurm-dft] ${id}: job ${rec.jobId} ${rec.jobName} COMPLETED once; re-attached by ${JSON.stringify(rec.reattachedBy)}; label ${path.basename(labelFile)} energy ${label.energy.toFixed(6)} eV`);
    }
    expect(record(runDir, id8)!.jobId).toBe(job);
    expect(JSON.parse(readFileSync(r.labels.find((l) => l.structureId === id8)!.labelFile, 'utf8')).provenance.job.reattached).toBe(true);
    // Temporal's side: the first attempt timed out on its heartbeat (the dead worker), the second re-attached.
    const started = ((await h.fetchHistory()).events ?? []).map((e) => e.activityTaskStartedEventAttributes).filter((a) => (a?.attempt ?? 0) > 1);
    expect(started.map((a) => a?.lastFailure?.timeoutFailureInfo?.timeoutType)).toContain(4); // HEARTBEAT
  });

  it("Slurm's warning before the time limit stops pw.x softly; the retry restarts from its charge density", { timeout: 6 * 60_000 }, async () => {
    const { runDir, h } = await start('limit', [id8]);
    const job = await runningJob(runDir, id8);
    // What Slurm does soft_stop_minutes before the limit (#SBATCH --signal=B:USR1@N), sent now.
    await slurmCmd('scancel', ['--batch', '--signal=USR1', job]);
    const r = (await h.result()) as LabellingResult;
    expect(r).toMatchObject({ labelled: 1, failed: 0 });
    const ev = events(runDir, id8);
    expect(ev.filter((e) => e.event === 'submitted')).toHaveLength(2);
    expect(ev.find((e) => e.event === 'ended' && e.job_id === job)).toMatchObject({ outcome: 'time-limit' });
    expect(existsSync(path.join(jobDirFor(runDir, id8, key(id8)), 'attempt-1', 'time-limit'))).toBe(true);
    const started = ((await h.fetchHistory()).events ?? []).map((e) => e.activityTaskStartedEventAttributes).find((a) => a?.attempt === 2);
    expect(started?.lastFailure?.applicationFailureInfo?.type).toBe('TimeLimit');
    expect(started?.lastFailure?.message).toMatch(new RegExp(`Slurm job ${job} .*reached its time limit.*pw\\.x stopped at Slurm's warning and saved its charge density: the next attempt restarts from that charge density`));
    const label = JSON.parse(readFileSync(r.labels[0]!.labelFile, 'utf8')) as DftLabel;
    expect((label.provenance.parameters as { electrons: Record<string, unknown> }).electrons.startingpot).toBe('file');
    expect(label.provenance.job?.job_id).not.toBe(job);
  });

  it('a node failure ends the job in NODE_FAIL; the retry submits a new job that finishes', { timeout: 6 * 60_000 }, async () => {
    const { runDir, h } = await start('nodefail', [id8]);
    const job = await runningJob(runDir, id8);
    const node = await slurmCmd('squeue', ['-h', '-j', job, '-o', '%N']);
    await slurmCmd('scontrol', ['update', `NodeName=${node}`, 'State=DOWN', 'Reason=autopipe-test']);
    await until('NODE_FAIL', async () => ((await jobState(job)) === 'NODE_FAIL' ? true : undefined), 60);
    // The node comes back on its own (ReturnToService=2) once slurmd answers; make sure it does.
    await slurmCmd('scontrol', ['update', `NodeName=${node}`, 'State=RESUME']).catch(() => undefined);
    const r = (await h.result()) as LabellingResult;
    expect(r).toMatchObject({ labelled: 1, failed: 0 });
    const started = ((await h.fetchHistory()).events ?? []).map((e) => e.activityTaskStartedEventAttributes).find((a) => a?.attempt === 2);
    expect(started?.lastFailure?.applicationFailureInfo?.type).toBe('NodeFailure');
    expect(started?.lastFailure?.message).toMatch(new RegExp(`Slurm job ${job} .*ended in NODE_FAIL: the next attempt submits it again`));
    const label = JSON.parse(readFileSync(r.labels[0]!.labelFile, 'utf8')) as DftLabel;
    expect(label.provenance.job?.job_id).not.toBe(job);
    expect(await jobState(label.provenance.job!.job_id)).toBe('COMPLETED');
  });

  it('the Slurm controller restarted while a job runs: the activity waits it out, the job runs once', { timeout: 6 * 60_000 }, async () => {
    const { runDir, h } = await start('ctld', [id8]);
    const job = await runningJob(runDir, id8);
    // slurmd keeps running the job while slurmctld is down; the worker's squeue fails meanwhile.
    await slurmCmd('scontrol', ['suspend', job]);
    const pidFile = path.join(path.dirname(process.env.SLURM_CONF!), 'slurmctld.pid');
    process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGTERM');
    await until('squeue to fail', async () => ((await execa('squeue', ['-h'], { reject: false })).exitCode !== 0 ? true : undefined), 60);
    await sleep(5000); // several polls (poll_seconds: 1) without an answer
    await startSlurmCluster();
    await slurmCmd('scontrol', ['resume', job]);
    const r = (await h.result()) as LabellingResult;
    expect(r).toMatchObject({ labelled: 1, failed: 0 });
    expect(events(runDir, id8).filter((e) => e.event === 'submitted')).toHaveLength(1);
    expect(pwStarts(runDir, id8)).toBe(1);
    const label = JSON.parse(readFileSync(r.labels[0]!.labelFile, 'utf8')) as DftLabel;
    expect(label.provenance).toMatchObject({ attempt: 1, job: { job_id: job, state: 'COMPLETED', reattached: false } });
  });

  it('a request the cluster cannot run fails at once, non-retryably, naming the campaign key to fix', async () => {
    const one = (over: Partial<DftSettings>) =>
      dftLabel({ runDir: path.join(dir, `bad-${Object.keys(over).join('')}`), structureId: id8, structureFile: cells8, dft: { ...dft, ...over } }).then(
        () => { throw new Error('expected a failure'); },
        (e: unknown) => e as ApplicationFailure,
      );
    const rejected = await one({ slurm: { ...dft.slurm!, partition: 'nope' } });
    expect(rejected).toMatchObject({ type: 'InvalidConfig', nonRetryable: true });
    expect(rejected.message).toMatch(/sbatch rejected the DFT job .*invalid partition.*nope.*Fix dft\.slurm/i);
    // Accepted by sbatch, but more ranks than the one node has: it would pend forever.
    const hopeless = await one({ ranks: 64, command: `srun ${wrapper}` });
    expect(hopeless).toMatchObject({ type: 'InvalidConfig', nonRetryable: true });
    expect(hopeless.message).toMatch(/can never start \(PartitionConfig\).*lower dft\.ranks.*It was cancelled/);
    const job = /Slurm job (\d+)/.exec(hopeless.message)![1]!;
    expect(await jobState(job)).toBe('CANCELLED');
  });

  it('cancelling the workflow scancels its running job', { timeout: 4 * 60_000 }, async () => {
    const { runDir, h } = await start('cancel', [id8]);
    const job = await runningJob(runDir, id8);
    // Suspended, so the job is certainly still there when the cancellation reaches the activity (it
    // arrives with a heartbeat, which the SDK throttles to a fraction of the heartbeat timeout).
    await slurmCmd('scontrol', ['suspend', job]);
    await h.cancel();
    await until('the job to be cancelled', async () => ((await jobState(job)) === 'CANCELLED' ? true : undefined), 60);
    expect(record(runDir, id8)).toMatchObject({ jobId: job, phase: 'cancelled' });
    expect(events(runDir, id8).find((e) => e.event === 'cancelled')).toMatchObject({ job_id: job, reason: expect.stringMatching(/^(activity cancelled|workflow closed)$/) });
    await expect(h.result()).rejects.toThrow();
  });
});

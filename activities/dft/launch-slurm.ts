// pw.x as a Slurm batch job (dft.launcher: slurm). The activity submits the attempt's job script with
// sbatch, records the job id in the run directory (slurm-<label key>.json) and in its heartbeats,
// watches the queue, and reads the output when the job ends. The job belongs to Slurm, not to the
// worker: a worker that crashes or restarts leaves it running, and the retried activity re-attaches to
// it (or reads its finished output) instead of submitting again. Only a cancellation asked for by the
// workflow scancels it.
import { ApplicationFailure } from '@temporalio/common';
import { appendFileSync, existsSync, readFileSync, rmSync, statSync, openSync, readSync, closeSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DftSettings } from '../../common/campaign-schema';
import { NonRetryableErrors, RetryableErrors } from '../../common/errors';
import { SlurmSchema, slurmTimeLimitMinutes, type SlurmSettings } from '../../common/launcher-schema';
import { resolveExecutable } from '../../host/paths';
import { currentActivity } from '../runtime/context';
import { readJsonIfExists, writeFileAtomic } from '../runtime/files';
import { sha256 } from '../runtime/hashing';
import type { PwAttempt, PwLauncher, PwRun } from './launch';
import { lastScfProgress } from './pw-command';
import { finalStatus, sbatch, scancel, squeue, squeueByName } from './slurm-commands';
import { JobFiles, renderJobScript } from './slurm-script';
import { HOPELESS_PENDING, exitCodeOf, isTerminal, jobOutcome, type JobStatus } from './slurm-state';

/** The run directory's record of one label's batch job: enough to re-attach and to finish the label. */
export interface JobRecord extends PwAttempt {
  launcher: 'slurm';
  jobName: string;
  jobId?: string;
  /** submitting: sbatch was called (its answer may be lost); submitted: id known; ended/cancelled: final. */
  phase: 'submitting' | 'submitted' | 'ended' | 'cancelled';
  submittedAt: string;
  finalState?: string;
  /** The activity attempt that received the job's result; a later attempt starts a new job. */
  deliveredTo?: number;
  /** Later attempts that found the job (after a worker crash or restart) and waited for it. */
  reattachedBy: { attempt: number; at: string; state: string }[];
}

export const jobRecordFile = (base: string, labelKey: string) => path.join(base, `slurm-${labelKey}.json`);
/** Every submission and end, one JSON line each: the audit of what ran on the cluster for this structure. */
export const jobLogFile = (base: string) => path.join(base, 'slurm-jobs.jsonl');

const HEARTBEAT_MS = 5_000;

function slurmSettings(dft: DftSettings): SlurmSettings {
  return dft.slurm ?? SlurmSchema.parse({});
}

function writeRecord(r: JobRecord) {
  writeFileAtomic(jobRecordFile(r.base, r.labelKey), JSON.stringify(r, null, 1));
}

function logEvent(r: JobRecord, event: string, extra: Record<string, unknown> = {}) {
  const ids = currentActivity()?.info;
  const line = { at: new Date().toISOString(), event, job_id: r.jobId, job_name: r.jobName, label_key: r.labelKey, attempt_dir: path.basename(r.dir), activity_attempt: ids?.attempt, workflow_id: ids?.workflowExecution?.workflowId, ...extra };
  appendFileSync(jobLogFile(r.base), JSON.stringify(line) + '\n');
}

function readInt(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

function tail(file: string, bytes = 64 * 1024): string {
  try {
    const size = statSync(file).size;
    const fd = openSync(file, 'r');
    const buf = Buffer.alloc(Math.min(bytes, size));
    readSync(fd, buf, 0, buf.length, Math.max(0, size - buf.length));
    closeSync(fd);
    return buf.toString('utf8');
  } catch {
    return '';
  }
}

// One squeue per poll interval for every job this worker process watches (a login node's controller
// should not get one query per job): waiters register, the next tick answers them all.
type QueueAnswer = JobStatus | 'gone' | 'unknown';
const waiting = new Map<string, ((a: QueueAnswer) => void)[]>();
let ticker: NodeJS.Timeout | undefined;

function nextQueueState(jobId: string, pollMs: number): Promise<QueueAnswer> {
  return new Promise((resolve) => {
    waiting.set(jobId, [...(waiting.get(jobId) ?? []), resolve]);
    ticker ??= setTimeout(() => void tick(), pollMs);
  });
}

async function tick() {
  const batch = new Map(waiting);
  waiting.clear();
  ticker = undefined;
  let rows: JobStatus[] | undefined;
  try {
    rows = await squeue([...batch.keys()]);
  } catch {
    rows = undefined;
  }
  for (const [id, resolvers] of batch) {
    const answer: QueueAnswer = rows === undefined ? 'unknown' : (rows.find((r) => r.jobId === id) ?? 'gone');
    resolvers.forEach((r) => r(answer));
  }
}

async function currentState(jobId: string): Promise<QueueAnswer> {
  const rows = await squeue([jobId]).catch(() => undefined);
  return rows === undefined ? 'unknown' : (rows.find((r) => r.jobId === jobId) ?? 'gone');
}

/** Wait for the job to end, heartbeating its state and SCF progress; then map its outcome. */
async function watch(rec: JobRecord, dft: DftSettings, reattached: boolean): Promise<PwRun> {
  const slurm = slurmSettings(dft);
  const jobId = rec.jobId!;
  const ctx = currentActivity();
  const attemptNow = ctx?.info.attempt ?? rec.attempt;
  let state = 'UNKNOWN';
  const details = () => ({
    launcher: 'slurm',
    job_id: jobId,
    job_state: state,
    attempt_dir: rec.dir,
    reattached,
    ...lastScfProgress(tail(path.join(rec.dir, JobFiles.pwOut))),
  });
  const beat = ctx ? setInterval(() => ctx.heartbeat(details()), HEARTBEAT_MS) : undefined;
  let aborted: unknown;
  let wake: () => void = () => {};
  const onAbort = () => {
    aborted = ctx?.cancellationSignal.reason ?? new Error('cancelled');
    wake();
  };
  ctx?.cancellationSignal.addEventListener('abort', onAbort);
  if (ctx?.cancellationSignal.aborted) onAbort();

  let final: JobStatus | undefined;
  try {
    let answer = await currentState(jobId);
    if (typeof answer !== 'string') state = answer.state;
    ctx?.heartbeat(details());
    if (reattached) {
      rec.reattachedBy.push({ attempt: attemptNow, at: new Date().toISOString(), state: typeof answer === 'string' ? answer.toUpperCase() : answer.state });
      writeRecord(rec);
      logEvent(rec, 'reattached', { job_state: typeof answer === 'string' ? answer : answer.state });
    }
    for (;;) {
      if (aborted) break;
      if (answer === 'gone') {
        // Finished and forgotten by the controller: accounting, the completion log, or what the job wrote.
        final = (await finalStatus(jobId)) ?? { jobId, state: existsSync(path.join(rec.dir, JobFiles.exitCode)) ? 'COMPLETED' : 'UNKNOWN' };
        break;
      }
      if (answer !== 'unknown') {
        if (answer.state !== state) {
          state = answer.state;
          ctx?.heartbeat(details());
        }
        if (isTerminal(answer.state)) {
          final = answer;
          break;
        }
        const hopeless = answer.state === 'PENDING' && answer.reason ? HOPELESS_PENDING[answer.reason] : undefined;
        if (hopeless) {
          await scancel(jobId);
          rec.phase = 'cancelled';
          rec.deliveredTo = attemptNow;
          writeRecord(rec);
          logEvent(rec, 'cancelled', { reason: answer.reason });
          throw ApplicationFailure.create({
            type: NonRetryableErrors.InvalidConfig,
            nonRetryable: true,
            message: `Slurm job ${jobId} can never start (${answer.reason}): ${hopeless}. It was cancelled.`,
          });
        }
      } else {
        state = 'UNKNOWN (controller not answering)';
      }
      answer = await new Promise<QueueAnswer>((resolve) => {
        wake = () => resolve('unknown');
        void nextQueueState(jobId, slurm.poll_seconds * 1000).then(resolve);
      });
    }
  } finally {
    if (beat) clearInterval(beat);
    ctx?.cancellationSignal.removeEventListener('abort', onAbort);
  }

  if (aborted) {
    const reason = aborted instanceof Error ? aborted.message : String(aborted);
    // Cancelled by the workflow (or a user in the UI), or the workflow has ended (a cancelled workflow
    // does not wait for its activities; their next heartbeat finds nothing): the job is not wanted.
    // NOT_FOUND with the workflow still running means a newer attempt owns the job: leave it to that one.
    const unwanted = reason === 'CANCELLED' ? 'activity cancelled' : reason === 'NOT_FOUND' && (await workflowClosed()) ? 'workflow closed' : undefined;
    if (unwanted) {
      await scancel(jobId);
      rec.phase = 'cancelled';
      rec.deliveredTo = attemptNow;
      writeRecord(rec);
      logEvent(rec, 'cancelled', { reason: unwanted });
      throw aborted;
    }
    // The worker is shutting down or the server gave up on this attempt: the job runs on, and the next
    // attempt re-attaches to it.
    logEvent(rec, 'detached', { reason });
    throw ApplicationFailure.create({
      type: RetryableErrors.WorkerShutdown,
      message: `the DFT worker stopped waiting (${reason}) while Slurm job ${jobId} runs on; the next attempt re-attaches to it`,
      details: [{ job_id: jobId, attempt_dir: rec.dir }],
    });
  }

  const finalState = final!.state;
  const pwExit = readInt(path.join(rec.dir, JobFiles.exitCode));
  const timeLimitMarker = existsSync(path.join(rec.dir, JobFiles.timeLimit));
  const outcome = jobOutcome(finalState, { pwExit, timeLimitMarker });
  rec.phase = 'ended';
  rec.finalState = finalState;
  rec.deliveredTo = attemptNow;
  writeRecord(rec);
  logEvent(rec, 'ended', { job_state: finalState, pw_exit: pwExit, outcome: outcome.kind });

  const slurmOut = path.join(rec.dir, JobFiles.slurmOut.replace('%j', jobId));
  const job = { launcher: 'slurm' as const, job_id: jobId, state: finalState, reattached };
  const where = `Slurm job ${jobId} (${rec.dir})`;
  const detailsOut = [{ job_id: jobId, job_state: finalState, attempt_dir: rec.dir }];
  switch (outcome.kind) {
    case 'ended': {
      const run: PwRun = { ...attemptOf(rec), exitCode: outcome.exitCode, outputFile: path.join(rec.dir, JobFiles.pwOut), logFile: slurmOut, job };
      return run;
    }
    case 'time-limit': {
      const control = rec.inputData.control ?? {};
      const density = existsSync(path.resolve(rec.dir, String(control.outdir ?? '.'), `${String(control.prefix ?? 'pwscf')}.save`, 'charge-density.dat'));
      throw ApplicationFailure.create({
        type: RetryableErrors.TimeLimit,
        message: `${where} reached its time limit (${slurm.time_limit ?? `${slurmTimeLimitMinutes(dft)} min`})${outcome.soft ? '; pw.x stopped at Slurm\'s warning and saved its charge density' : ' before pw.x could stop'}: the next attempt restarts from ${density ? 'that charge density' : 'scratch'}`,
        details: detailsOut,
      });
    }
    case 'out-of-memory':
      throw ApplicationFailure.create({
        type: NonRetryableErrors.OutOfMemory,
        nonRetryable: true,
        message: `${where} ran out of memory: ask for more (dft.slurm.sbatch: ["--mem=..."]) or spread it over more nodes (dft.slurm.nodes, dft.ranks)`,
        details: detailsOut,
      });
    case 'lost':
    case 'cancelled':
      throw ApplicationFailure.create({
        type: RetryableErrors.NodeFailure,
        message: `${where} ended ${outcome.kind === 'cancelled' ? 'CANCELLED outside autopipe (scancel by a user or an admin)' : `in ${outcome.state}`}: the next attempt submits it again`,
        details: detailsOut,
      });
    case 'script-failed': {
      const out = tail(slurmOut, 4000).trim();
      const code = exitCodeOf(final!.exitCode);
      if (code === 127 || /command not found|No such file or directory/.test(out)) {
        throw ApplicationFailure.create({
          type: NonRetryableErrors.ToolMissing,
          nonRetryable: true,
          message: `${where}: the job could not start pw.x on the compute node (check dft.command and dft.slurm.modules):\n${out}`,
          details: detailsOut,
        });
      }
      throw ApplicationFailure.create({
        type: RetryableErrors.ToolFailed,
        message: `${where} ended ${finalState}${final!.exitCode ? ` (exit ${final!.exitCode})` : ''} without pw.x's exit code; see ${slurmOut}\n${out}`,
        details: detailsOut,
      });
    }
  }
}

/** True when this activity's workflow run has ended; false when it runs or cannot be asked. */
async function workflowClosed(): Promise<boolean> {
  const ctx = currentActivity();
  const wf = ctx?.info.workflowExecution;
  if (!ctx || !wf) return false;
  try {
    const d = await ctx.client.workflow.getHandle(wf.workflowId, wf.runId).describe();
    return d.status.name !== 'RUNNING';
  } catch (err) {
    return (err as Error).name === 'WorkflowNotFoundError';
  }
}

function attemptOf(r: JobRecord): PwAttempt {
  const { structureId, labelKey, base, dir, attempt, rung, inputData, kpts } = r;
  return { structureId, labelKey, base, dir, attempt, rung, inputData, kpts };
}

export const slurmLauncher: PwLauncher = {
  kind: 'slurm',

  async resume(base, labelKey, dft) {
    const file = jobRecordFile(base, labelKey);
    const rec = readJsonIfExists<JobRecord>(file);
    if (!rec || rec.phase === 'cancelled' || rec.deliveredTo !== undefined) return undefined;
    if (!resolveExecutable('squeue')) {
      throw ApplicationFailure.create({
        type: NonRetryableErrors.ToolMissing,
        nonRetryable: true,
        message: `a Slurm job of this label is recorded in ${file} but this worker has no Slurm client: run the DFT worker where squeue works, or remove that file if the job is gone`,
      });
    }
    if (rec.phase === 'submitting') {
      // The worker died around sbatch: the job (if any) wrote its id on start, or the queue knows its name.
      const written = readInt(path.join(rec.dir, JobFiles.jobId));
      let id = written === undefined ? undefined : String(written);
      if (!id) {
        const byName = await squeueByName(rec.jobName);
        if (byName === undefined) {
          throw ApplicationFailure.create({ type: RetryableErrors.ToolFailed, message: `cannot ask Slurm whether job ${rec.jobName} was submitted (squeue failed); trying again` });
        }
        id = byName[0]?.jobId;
      }
      if (!id) {
        rmSync(file, { force: true }); // never submitted: the new attempt submits
        return undefined;
      }
      rec.jobId = id;
      rec.phase = 'submitted';
      writeRecord(rec);
      logEvent(rec, 'found', { how: written === undefined ? 'squeue by name' : 'job id file' });
    }
    return watch(rec, dft, true);
  },

  async run(attempt, dft) {
    const slurm = slurmSettings(dft);
    const ctx = currentActivity();
    if (ctx?.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
    // Unique per attempt directory (run directory, structure, attempt): a lost sbatch answer is found by it.
    const jobName = `ap-${attempt.structureId.slice(0, 16)}-${sha256(path.resolve(attempt.dir)).slice(0, 8)}-a${attempt.attempt}`;
    const prefix = String(attempt.inputData.control?.prefix ?? 'pwscf');
    writeFileSync(path.join(attempt.dir, JobFiles.script), renderJobScript({ jobName, dft, slurm, prefix }), { mode: 0o755 });
    const rec: JobRecord = { ...attempt, launcher: 'slurm', jobName, phase: 'submitting', submittedAt: new Date().toISOString(), reattachedBy: [] };
    writeRecord(rec);
    try {
      rec.jobId = await sbatch(JobFiles.script, attempt.dir);
    } catch (err) {
      rmSync(jobRecordFile(rec.base, rec.labelKey), { force: true });
      throw err;
    }
    rec.phase = 'submitted';
    writeRecord(rec);
    logEvent(rec, 'submitted');
    return watch(rec, dft, false);
  },
};

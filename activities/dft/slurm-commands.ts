// The Slurm client commands (sbatch, squeue, sacct, scontrol, scancel) as typed calls: argument arrays,
// a timeout each, the controller's transient failures told apart from a rejected request. They talk to
// the cluster SLURM_CONF (or the node's default configuration) points at.
import { ApplicationFailure } from '@temporalio/common';
import { execa } from 'execa';
import { NonRetryableErrors, RetryableErrors } from '../../common/errors';
import { resolveExecutable } from '../../host/paths';
import { parseSacct, parseScontrol, parseSqueue, type JobStatus } from './slurm-state';

const TIMEOUT_MS = 60_000;

function slurmTool(name: string): string {
  const exe = resolveExecutable(name);
  if (!exe) {
    throw ApplicationFailure.create({
      type: NonRetryableErrors.ToolMissing,
      nonRetryable: true,
      message: `${name} not found on PATH: dft.launcher is slurm, so the DFT worker must run where the Slurm client commands are (a login or compute node)`,
    });
  }
  return exe;
}

async function slurm(name: string, args: string[], cwd?: string) {
  const r = await execa(slurmTool(name), args, { cwd, reject: false, timeout: TIMEOUT_MS, stdin: 'ignore' });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), timedOut: r.timedOut };
}

// The controller is down, restarting or overloaded: worth asking again later.
const TRANSIENT = /unable to contact slurm controller|socket timed out|connection refused|slurm temporarily unavailable|slurmctld not responding|communication connection failure|zero bytes were transmitted|try again/i;

/** Submit a batch script from its directory; the job id. Rejections name the campaign field to fix. */
export async function sbatch(script: string, cwd: string): Promise<string> {
  const r = await slurm('sbatch', ['--parsable', script], cwd);
  const id = /^(\d+)(?:;\S+)?\s*$/m.exec(r.stdout)?.[1];
  if (r.exitCode === 0 && id) return id;
  const why = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ');
  if (r.timedOut || TRANSIENT.test(why)) {
    throw ApplicationFailure.create({ type: RetryableErrors.ToolFailed, message: `sbatch could not reach the Slurm controller: ${why || 'timed out'}` });
  }
  throw ApplicationFailure.create({
    type: NonRetryableErrors.InvalidConfig,
    nonRetryable: true,
    message: `sbatch rejected the DFT job (${cwd}/job.sh): ${why}. Fix dft.slurm (partition, account, time_limit, nodes, sbatch) or dft.ranks in the campaign file`,
  });
}

/** Jobs the controller still knows (pending, running, and finished within MinJobAge); undefined when it does not answer. */
export async function squeue(jobIds: string[]): Promise<JobStatus[] | undefined> {
  if (jobIds.length === 0) return [];
  const r = await slurm('squeue', ['--states=all', '-h', '-o', '%i|%T|%r', '-j', jobIds.join(',')]);
  if (r.exitCode === 0) return parseSqueue(r.stdout);
  // One id the controller has forgotten fails the whole call: ask for each on its own.
  if (/invalid job id/i.test(r.stderr)) {
    if (jobIds.length === 1) return [];
    const each = await Promise.all(jobIds.map((id) => squeue([id])));
    return each.some((e) => e === undefined) ? undefined : each.flat() as JobStatus[];
  }
  return undefined;
}

/** Find jobs by name (a submission whose answer was lost). */
export async function squeueByName(name: string): Promise<JobStatus[] | undefined> {
  const r = await slurm('squeue', ['--states=all', '-h', '-o', '%i|%T|%r', '-n', name]);
  return r.exitCode === 0 ? parseSqueue(r.stdout) : undefined;
}

/**
 * A finished job's final state from the accounting database, or, on clusters without one, from the job
 * completion log (`sacct --completion`), else from the controller's memory (`scontrol show job`).
 */
export async function finalStatus(jobId: string): Promise<JobStatus | undefined> {
  const fields = ['-n', '-P', '-o', 'JobID,State,ExitCode', '-j', jobId];
  const acct = await slurm('sacct', ['-X', ...fields]);
  let rows = acct.exitCode === 0 ? parseSacct(acct.stdout) : [];
  if (rows.length === 0) {
    const comp = await slurm('sacct', ['--completion', ...fields]);
    rows = comp.exitCode === 0 ? parseSacct(comp.stdout) : [];
  }
  const hit = rows.find((x) => x.jobId === jobId);
  if (hit) return hit;
  const sc = await slurm('scontrol', ['show', 'job', '-o', jobId]);
  return sc.exitCode === 0 ? parseScontrol(sc.stdout) : undefined;
}

/** Cancel a job (all its steps and the batch shell get SIGTERM, then SIGKILL after KillWait). */
export async function scancel(jobId: string): Promise<boolean> {
  return (await slurm('scancel', [jobId])).exitCode === 0;
}

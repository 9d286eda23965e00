// What Slurm says about a job, parsed from squeue / sacct / scontrol, and what a final state means for
// the DFT attempt. Pure functions: the commands themselves run in slurm-commands.ts.

/** A job as the queue reports it. */
export interface JobStatus {
  jobId: string;
  /** Slurm's state name, e.g. PENDING, RUNNING, COMPLETED, TIMEOUT ("CANCELLED by 0" becomes CANCELLED). */
  state: string;
  /** Why a job pends or ended (squeue %r / scontrol Reason), when known. */
  reason?: string;
  /** "code:signal" as sacct and scontrol print it, when known. */
  exitCode?: string;
}

// Slurm's job states (squeue(1) "JOB STATE CODES"): the ones after which nothing more happens.
const TERMINAL = new Set(['BOOT_FAIL', 'CANCELLED', 'COMPLETED', 'DEADLINE', 'FAILED', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'REVOKED', 'SPECIAL_EXIT', 'TIMEOUT']);

export function isTerminal(state: string): boolean {
  return TERMINAL.has(state);
}

const stateName = (s: string) => s.trim().split(/\s+/)[0]!.toUpperCase();

/** `squeue --states=all -h -o %i|%T|%r` lines. */
export function parseSqueue(stdout: string): JobStatus[] {
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [jobId, state, reason] = l.split('|');
      return { jobId: jobId!.trim(), state: stateName(state ?? ''), reason: reason?.trim() || undefined };
    });
}

/** `sacct -X -n -P -o JobID,State,ExitCode` (or `sacct -c`) lines; the allocation's line per job. */
export function parseSacct(stdout: string): JobStatus[] {
  const out = new Map<string, JobStatus>();
  for (const l of stdout.split('\n').map((x) => x.trim()).filter(Boolean)) {
    const [jobId, state, exitCode] = l.split('|');
    if (!jobId || jobId.includes('.')) continue; // steps (123.batch, 123.0)
    out.set(jobId, { jobId, state: stateName(state ?? ''), exitCode: exitCode?.trim() || undefined });
  }
  return [...out.values()];
}

/** `scontrol show job -o ID`: one line of Key=Value pairs. */
export function parseScontrol(stdout: string): JobStatus | undefined {
  const line = stdout.split('\n').find((l) => l.includes('JobId='));
  if (!line) return undefined;
  const get = (k: string) => new RegExp(`(?:^|\\s)${k}=(\\S*)`).exec(line)?.[1];
  const jobId = get('JobId');
  const state = get('JobState');
  if (!jobId || !state) return undefined;
  return { jobId, state: stateName(state), reason: get('Reason'), exitCode: get('ExitCode') };
}

/** The exit code part of "code:signal". */
export function exitCodeOf(s: string | undefined): number | undefined {
  const m = s ? /^(\d+):(\d+)$/.exec(s.trim()) : null;
  return m ? Number(m[1]) : undefined;
}

/** What a finished job means for the attempt. */
export type JobOutcome =
  /** pw.x ran to its end (converged or not): its output and exit code decide. */
  | { kind: 'ended'; exitCode: number }
  /** The script failed around pw.x (module load, missing executable): no pw.x exit code was written. */
  | { kind: 'script-failed'; exitCode?: number }
  | { kind: 'time-limit'; soft: boolean }
  | { kind: 'lost'; state: string }
  | { kind: 'out-of-memory' }
  | { kind: 'cancelled' };

/**
 * Combine Slurm's final state with what the job wrote: pw.x's exit code (pw.exit) and the time-limit
 * marker (Slurm's warning signal arrived). A soft stop that pw.x answered by ending unconverged is the
 * time limit; one that came after pw.x had converged is a normal end.
 */
export function jobOutcome(state: string, files: { pwExit?: number; timeLimitMarker: boolean }): JobOutcome {
  const s = stateName(state);
  if (s === 'TIMEOUT' || s === 'DEADLINE') return { kind: 'time-limit', soft: false };
  if (s === 'OUT_OF_MEMORY') return { kind: 'out-of-memory' };
  if (s === 'CANCELLED') return { kind: 'cancelled' };
  if (s === 'NODE_FAIL' || s === 'BOOT_FAIL' || s === 'PREEMPTED' || s === 'REVOKED') return { kind: 'lost', state: s };
  // Gone from the queue with no trace in accounting and no exit code written: the job was lost.
  if (files.pwExit === undefined) return s === 'UNKNOWN' ? { kind: 'lost', state: s } : { kind: 'script-failed' };
  if (files.timeLimitMarker && files.pwExit !== 0) return { kind: 'time-limit', soft: true };
  return { kind: 'ended', exitCode: files.pwExit };
}

/** Pending reasons that never resolve by waiting: the request itself is wrong for this cluster. */
export const HOPELESS_PENDING: Record<string, string> = {
  PartitionTimeLimit: 'the time limit exceeds the partition\'s maximum: lower dft.slurm.time_limit (or dft.timeout_minutes)',
  PartitionConfig: 'the request exceeds what the partition has (CPUs, nodes, memory): lower dft.ranks or dft.slurm.nodes, or choose another partition',
  PartitionNodeLimit: 'the node count is outside the partition\'s limits: change dft.slurm.nodes or dft.ranks',
  InvalidAccount: 'the account is not valid here: fix dft.slurm.account',
  InvalidQOS: 'the QOS is not valid here: fix the --qos line in dft.slurm.sbatch',
  BadConstraints: 'no node has the requested features: fix dft.slurm.sbatch',
};

// Where pw.x runs: as a child of the DFT worker (`local`) or as a Slurm batch job the worker submits
// and watches (`slurm`). Imported by the campaign schema (dft.launcher, dft.slurm) and by the workflow's
// activity options (a batch job may wait in the queue for hours), so workflow-safe.
import { z } from 'zod';

export const LauncherKinds = ['local', 'slurm'] as const;
export type LauncherKind = (typeof LauncherKinds)[number];

const num = () => z.number({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a number') });
const positive = () => num().positive('must be > 0');
const posInt = () => num().int('must be an integer').positive('must be > 0');
// Partition, account and module names end up in a batch script: plain names only, never shell.
const slurmName = () => z.string().regex(/^[A-Za-z0-9._+-]+$/, 'use letters, digits, ".", "_", "+" or "-"');
const moduleName = () => z.string().regex(/^[A-Za-z0-9._+/-]+$/, 'a module name such as "quantum-espresso/7.2" (letters, digits, ".", "_", "+", "/", "-")');

/** Slurm's --time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S. */
const TIME_FORMAT = /^(?:(\d+)-(\d+)(?::(\d+)(?::(\d+))?)?|(\d+)(?::(\d+)(?::(\d+))?)?)$/;

/** Minutes in a Slurm --time value, or undefined when it is not one. */
export function slurmTimeMinutes(value: string): number | undefined {
  const m = TIME_FORMAT.exec(value.trim());
  if (!m) return undefined;
  const n = (i: number) => Number(m[i] ?? 0);
  if (m[1] !== undefined) return n(1) * 1440 + n(2) * 60 + n(3) + n(4) / 60;
  // M | M:S | H:M:S
  if (m[7] !== undefined) return n(5) * 60 + n(6) + n(7) / 60;
  if (m[6] !== undefined) return n(5) + n(6) / 60;
  return n(5);
}

// Options the launcher sets itself (or that would break watching the job): not allowed in dft.slurm.sbatch.
export const RESERVED_SBATCH = ['job-name', 'J', 'output', 'o', 'error', 'e', 'chdir', 'D', 'array', 'a', 'wrap', 'signal', 'requeue', 'no-requeue', 'parsable', 'wait', 'W', 'test-only', 'dependency', 'd', 'ntasks', 'n', 'nodes', 'N', 'time', 't', 'partition', 'p', 'account', 'A'];

/** "--mem=8G", "--qos normal", "-C skylake": one option per entry; undefined when the line is fine. */
export function sbatchLineProblem(line: string): string | undefined {
  const m = /^(--?)([A-Za-z][A-Za-z0-9-]*)(?:(=|\s+)(\S+))?$/.exec(line.trim());
  if (!m || /[\n\r]/.test(line)) return 'must be one sbatch option such as "--mem=8G" or "--qos=normal" (no spaces inside the value, no newline)';
  if (RESERVED_SBATCH.includes(m[2]!)) {
    return `"${m[1]}${m[2]}" is set by autopipe (use dft.slurm.partition/account/time_limit/nodes or dft.ranks)`;
  }
  return undefined;
}

export const SlurmSchema = z.strictObject({
  partition: slurmName().optional().describe('sbatch --partition; default: the cluster default'),
  account: slurmName().optional().describe('sbatch --account'),
  time_limit: z
    .string()
    .refine((v) => (slurmTimeMinutes(v) ?? 0) > 0, { error: 'must be a Slurm time such as "90", "2:00:00" or "1-12:00:00"' })
    .optional()
    .describe('sbatch --time per calculation; default: dft.timeout_minutes'),
  nodes: posInt().default(1).describe('sbatch --nodes; the MPI ranks are dft.ranks (sbatch --ntasks)'),
  sbatch: z
    .array(z.string().superRefine((line, ctx) => {
      const p = sbatchLineProblem(line);
      if (p) ctx.addIssue({ code: 'custom', message: p });
    }))
    .default([])
    .describe('extra #SBATCH options, one per entry, e.g. ["--mem=8G", "--qos=normal", "--constraint=skylake"]'),
  modules: z.array(moduleName()).default([]).describe('`module load` before pw.x, in this order'),
  soft_stop_minutes: positive()
    .default(5)
    .describe('this long before the time limit pw.x is asked to stop and save its charge density (the next attempt restarts from it)'),
  poll_seconds: positive().default(30).describe('how often the worker asks squeue about its jobs'),
  max_queue_hours: positive().default(72).describe('how long one attempt may wait in the queue before Temporal retries it (the job is re-attached, not resubmitted)'),
});
export type SlurmSettings = z.output<typeof SlurmSchema>;

/** The job's time limit in minutes: dft.slurm.time_limit, else dft.timeout_minutes. */
export function slurmTimeLimitMinutes(dft: { timeout_minutes: number; slurm?: { time_limit?: string } }): number {
  const t = dft.slurm?.time_limit;
  return t === undefined ? dft.timeout_minutes : (slurmTimeMinutes(t) ?? dft.timeout_minutes);
}

/**
 * Start-to-close timeout of one DFT attempt in minutes: the run itself locally; under Slurm the queue
 * wait too, plus a margin for the job's kill grace and the output read.
 */
export function dftAttemptMinutes(dft: { launcher: LauncherKind; timeout_minutes: number; slurm?: SlurmSettings }): number {
  // Locally a margin too, so pw.x's own timeout (a genuine failure, diagnosed) fires before Temporal's.
  if (dft.launcher !== 'slurm') return dft.timeout_minutes + 10;
  return Math.ceil(slurmTimeLimitMinutes(dft) + (dft.slurm?.max_queue_hours ?? 72) * 60 + 10);
}

// The batch script of one pw.x attempt. Every value in it comes from the validated campaign schema
// (names and options are checked there) or from quoting below; nothing from a data file.
//
// The script records its own job id (so a retried activity finds a job whose sbatch answer was lost),
// turns Slurm's warning signal before the time limit into pw.x's soft stop (the <prefix>.EXIT file in
// its working directory: pw.x ends at the next SCF iteration and writes its charge density, which the
// next attempt restarts from), and writes pw.x's exit code once pw.x has ended.
import type { DftSettings } from '../../common/campaign-schema';
import { slurmTimeLimitMinutes, type SlurmSettings } from '../../common/launcher-schema';
import { commandArgv } from './pw-command';

export const JobFiles = {
  script: 'job.sh',
  /** Slurm's stdout/stderr of the batch script (%j: the job id). */
  slurmOut: 'slurm-%j.out',
  /** Written by the job at its start: its own id. */
  jobId: 'slurm-job-id',
  /** Written by the job after pw.x ended: pw.x's exit code. */
  exitCode: 'pw.exit',
  /** Written by the job when Slurm's time-limit warning arrived. */
  timeLimit: 'time-limit',
  pwOut: 'espresso.pwo',
  pwErr: 'pw.err',
} as const;

/** pw.x's soft-stop file (QE's check_stop: "<prefix>.EXIT" in its working directory). */
export const pwExitFile = (prefix: string) => `${prefix}.EXIT`;

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** Slurm --time from minutes: whole minutes, at least 1. */
export function slurmTime(minutes: number): string {
  return String(Math.max(1, Math.ceil(minutes)));
}

/** Seconds before the limit at which pw.x is asked to stop: soft_stop_minutes, at most half the limit. */
export function softStopSeconds(slurm: SlurmSettings, limitMinutes: number): number {
  return Math.max(1, Math.min(65_535, Math.round(Math.min(slurm.soft_stop_minutes * 60, (limitMinutes * 60) / 2))));
}

export interface JobScriptInput {
  jobName: string;
  dft: DftSettings;
  slurm: SlurmSettings;
  /** pw.x's control.prefix (names its soft-stop file). */
  prefix: string;
}

export function renderJobScript({ jobName, dft, slurm, prefix }: JobScriptInput): string {
  const limit = slurmTimeLimitMinutes({ timeout_minutes: dft.timeout_minutes, slurm });
  const options = [
    `--job-name=${jobName}`,
    `--output=${JobFiles.slurmOut}`,
    `--ntasks=${dft.ranks}`,
    `--nodes=${slurm.nodes}`,
    `--time=${slurm.time_limit ?? slurmTime(limit)}`,
    ...(slurm.partition ? [`--partition=${slurm.partition}`] : []),
    ...(slurm.account ? [`--account=${slurm.account}`] : []),
    // A node failure surfaces as NODE_FAIL to the activity, whose retry submits again (visible in the
    // UI), instead of Slurm requeueing the job into a directory the activity already read.
    '--no-requeue',
    `--signal=B:USR1@${softStopSeconds(slurm, limit)}`,
    ...slurm.sbatch.map((l) => l.trim()),
  ];
  const argv = [...commandArgv(dft.command, dft.ranks), '-in', 'espresso.pwi'].map(quote).join(' ');
  const modules = slurm.modules.map((m) => `module load ${quote(m)}`);
  return [
    // A login shell when modules are loaded: that is where clusters define `module`.
    modules.length ? '#!/bin/bash -l' : '#!/bin/bash',
    ...options.map((o) => `#SBATCH ${o}`),
    '# Written by mlip-autopipe (activities/dft/slurm-script.ts); resubmit by hand with `sbatch job.sh` in this directory.',
    `echo "$SLURM_JOB_ID" > ${JobFiles.jobId}`,
    `soft_stop() { date -u +%FT%TZ > ${JobFiles.timeLimit}; touch ${quote(pwExitFile(prefix))}; }`,
    'trap soft_stop USR1',
    ...(modules.length ? ['set -e', ...modules, 'set +e'] : []),
    'export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}',
    `${argv} > ${JobFiles.pwOut} 2> ${JobFiles.pwErr} &`,
    'pid=$!',
    '# wait returns early when the USR1 trap runs: wait again until pw.x has really ended.',
    'while kill -0 "$pid" 2>/dev/null; do wait "$pid"; done',
    'wait "$pid"; code=$?',
    `echo "$code" > ${JobFiles.exitCode}.tmp && mv ${JobFiles.exitCode}.tmp ${JobFiles.exitCode}`,
    'exit "$code"',
    '',
  ].join('\n');
}

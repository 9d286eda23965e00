// How pw.x is run for one attempt, behind one small interface: as a child of the worker (launch-local)
// or as a Slurm batch job that outlives the worker (launch-slurm). The DFT activity (qe.ts) writes the
// input, asks the launcher for a finished run, and reads the output; it never starts pw.x itself.
import type { DftSettings } from '../../common/campaign-schema';
import type { LauncherKind } from '../../common/launcher-schema';
import { localLauncher } from './launch-local';
import { slurmLauncher } from './launch-slurm';

/** What one attempt runs: everything a later attempt needs to finish it from its label record. */
export interface PwAttempt {
  structureId: string;
  labelKey: string;
  /** The structure's DFT directory (dft/<id>/) and this attempt's directory inside it, holding espresso.pwi. */
  base: string;
  dir: string;
  attempt: number;
  rung: string;
  /** pw.x namelists as written (provenance of the label). */
  inputData: Record<string, Record<string, unknown>>;
  kpts: number[];
}

/** A batch job behind a run (absent for local runs). */
export interface PwJob {
  launcher: 'slurm';
  job_id: string;
  /** Slurm's final state (COMPLETED, FAILED, ...). */
  state: string;
  /** True when a later attempt than the submitting one waited for the job (the worker had gone). */
  reattached: boolean;
}

/** A finished pw.x run: its output decides, exit codes 1-3 mean an SCF that pw.x itself gave up on. */
export interface PwRun extends PwAttempt {
  exitCode: number;
  outputFile: string;
  logFile: string;
  job?: PwJob;
}

export interface PwLauncher {
  readonly kind: LauncherKind;
  /**
   * Before a new attempt: a run of this label started by an earlier attempt that outlives its worker is
   * waited for and returned (a batch job is never submitted twice); undefined when there is none. Local
   * runs die with their worker: their leftovers are reaped here and nothing is returned.
   */
  resume(base: string, labelKey: string, dft: DftSettings): Promise<PwRun | undefined>;
  /** Run pw.x on attempt.dir/espresso.pwi to the end (throws typed ApplicationFailures). */
  run(attempt: PwAttempt, dft: DftSettings): Promise<PwRun>;
}

/**
 * The DFT settings the cost guard (cost.ts) checks against: a batch job runs on a compute node, so this
 * worker's memory says nothing about it; only an explicit dft.limits.max_memory_gb bounds its memory.
 */
export function costGuardSettings(dft: DftSettings): DftSettings {
  if (dft.launcher !== 'slurm' || dft.limits.max_memory_gb !== undefined) return dft;
  return { ...dft, limits: { ...dft.limits, max_memory_gb: Number.POSITIVE_INFINITY } };
}

export function pwLauncher(kind: LauncherKind): PwLauncher {
  const chosen = kind === 'slurm' ? slurmLauncher : localLauncher;
  return {
    kind,
    run: chosen.run,
    // Whatever launcher an earlier attempt used (the campaign may have switched): a leftover local pw.x
    // is stopped, a batch job still running is waited for, so no two pw.x ever share a scratch directory.
    async resume(base, labelKey, dft) {
      await localLauncher.resume(base, labelKey, dft);
      return slurmLauncher.resume(base, labelKey, dft);
    },
  };
}

// The attempt ledger of one DFT job (a structure under one set of requested settings), on disk beside its
// files, so every worker that sees the run directory reads the same history:
//
//   dft/<structure>/<job key>/attempt-<n>/attempt.json   settings and remedy, written before pw.x starts
//   dft/<structure>/<job key>/attempt-<n>/outcome.json   written when the attempt failed genuinely
//   dft/<structure>/<job key>/scratch/                   pw.x's outdir, shared by the attempts (restarts)
//
// An attempt with attempt.json and no outcome.json was cut short by infrastructure (its worker died, or
// pw.x was killed from outside): it costs nothing, and the next attempt repeats its settings. Only
// outcome.json files count toward dft.max_retries, and each one's diagnosis picks the next remedy.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { readJsonIfExists, writeFileAtomic } from '../runtime/files';
import type { Diagnosis, ScfSettings } from './ladder';

export interface AttemptRecord {
  n: number;
  /** Temporal's attempt number of the activity that ran it (1 when run outside Temporal). */
  temporal_attempt: number;
  settings: ScfSettings;
  /** The remedy that produced these settings ("default" on the first attempt). */
  remedy: string;
  restart_from_density: boolean;
  started_at: string;
  host: string;
  pid: number;
}

export interface Outcome {
  type: string;
  diagnosis: Diagnosis;
  message: string;
  at: string;
}

export interface LedgerEntry {
  n: number;
  dir: string;
  attempt?: AttemptRecord;
  outcome?: Outcome;
}

export const attemptDir = (jobDir: string, n: number) => path.join(jobDir, `attempt-${n}`);

/** Every attempt of the job, oldest first. */
export function readLedger(jobDir: string): LedgerEntry[] {
  if (!existsSync(jobDir)) return [];
  return readdirSync(jobDir)
    .map((d) => /^attempt-(\d+)$/.exec(d))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => {
      const dir = path.join(jobDir, m[0]);
      return {
        n: Number(m[1]),
        dir,
        attempt: readJsonIfExists<AttemptRecord>(path.join(dir, 'attempt.json')),
        outcome: readJsonIfExists<Outcome>(path.join(dir, 'outcome.json')),
      };
    })
    .sort((a, b) => a.n - b.n);
}

/** The attempts that failed genuinely (counted against dft.max_retries). */
export function genuineFailures(ledger: LedgerEntry[]): (LedgerEntry & { attempt: AttemptRecord; outcome: Outcome })[] {
  return ledger.filter((e): e is LedgerEntry & { attempt: AttemptRecord; outcome: Outcome } => !!e.attempt && !!e.outcome);
}

export function recordAttempt(dir: string, record: AttemptRecord): void {
  writeFileAtomic(path.join(dir, 'attempt.json'), JSON.stringify(record, null, 1));
}

export function recordOutcome(dir: string, outcome: Outcome): void {
  writeFileAtomic(path.join(dir, 'outcome.json'), JSON.stringify(outcome, null, 1));
}

// The DFT ledger: one row per calculation the campaign asked for, read from runs/<id>/dft/<structure id>/
// (the label or failure record, and each job's attempt ledger: <job key>/attempt-N/attempt.json with the
// remedy that attempt ran, activities/dft/attempts.ts). Wall time per attempt
// comes from the `# exit ... after N ms` line runTool appends to each attempt's pw.log (pw.x's own wall
// clock, in the label, covers the last attempt only); core-hours = wall time x MPI ranks (one thread each).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { DftSettings } from '../../common/campaign-schema';
import { runLayout } from '../../common/run-layout';
import { readLedger as readAttempts } from '../dft/attempts';
import { readJsonIfExists } from '../runtime/files';

export interface LedgerAttempt {
  attempt: number;
  rung: string;
  wallSeconds?: number;
  /** Exit code or signal as runTool logged it; undefined while running or when the worker died. */
  exit?: string;
}

export interface LedgerRow {
  structureId: string;
  status: 'labelled' | 'failed' | 'running';
  attempts: LedgerAttempt[];
  rung?: string;
  healed: boolean;
  /** Sum over attempts (s). */
  wallSeconds: number;
  coreHours: number;
  ranks: number;
  scfIterations?: number;
  energyPerAtom?: number;
  natoms?: number;
  reason?: string;
  workflowId?: string;
  activityId?: string;
  finishedAt?: string;
}

interface LabelFile {
  energy: number;
  forces: unknown[];
  provenance: { attempt: number; rung: string; healed: boolean; wall_seconds: number | null; scf_iterations: number; workflow_id?: string; activity_id?: string; finished_at: string; parameters?: { ranks?: number } };
}

const EXIT = /^# exit (\S+) after (\d+) ms/m;

function attemptOf(dir: string, attempt: number, rung: string | undefined): LedgerAttempt {
  const log = path.join(dir, 'pw.log');
  const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
  const m = text.match(EXIT);
  return { attempt, rung: rung ?? `attempt ${attempt}`, wallSeconds: m ? Number(m[2]) / 1000 : undefined, exit: m?.[1] };
}

/** Every attempt of every job (one per requested settings) of a structure, oldest first. */
function attemptsOf(dir: string, files: string[]): LedgerAttempt[] {
  return files
    .filter((f) => !f.includes('.') && existsSync(path.join(dir, f, 'attempt-1')))
    .flatMap((job) => readAttempts(path.join(dir, job)).map((e) => attemptOf(e.dir, e.n, e.attempt?.remedy)))
    .sort((a, b) => a.attempt - b.attempt);
}

/** Every structure directory under dft/, newest label or failure record first per structure. */
export function readLedger(runDir: string, dft?: DftSettings): LedgerRow[] {
  const root = runLayout(runDir).dftRoot;
  if (!existsSync(root)) return [];
  const rows: LedgerRow[] = [];
  for (const id of readdirSync(root).sort()) {
    const dir = path.join(root, id);
    let files: string[];
    try {
      files = readdirSync(dir);
    } catch {
      continue;
    }
    const attempts = attemptsOf(dir, files);
    const labelFile = files.find((f) => f.startsWith('label-') && f.endsWith('.json'));
    const failedFile = files.find((f) => f.startsWith('failed-') && f.endsWith('.json'));
    const label = labelFile ? readJsonIfExists<LabelFile>(path.join(dir, labelFile)) : undefined;
    const failed = !label && failedFile ? readJsonIfExists<{ reason: string; attempts: number; at: string }>(path.join(dir, failedFile)) : undefined;
    const ranks = label?.provenance.parameters?.ranks ?? dft?.ranks ?? 1;
    const wallSeconds = attempts.reduce((s, a) => s + (a.wallSeconds ?? 0), 0) || (label?.provenance.wall_seconds ?? 0);
    const p = label?.provenance;
    rows.push({
      structureId: id,
      status: label ? 'labelled' : failed ? 'failed' : 'running',
      attempts,
      rung: p?.rung ?? attempts[attempts.length - 1]?.rung,
      healed: p?.healed ?? false,
      wallSeconds,
      coreHours: (wallSeconds * ranks) / 3600,
      ranks,
      scfIterations: p?.scf_iterations,
      energyPerAtom: label ? label.energy / label.forces.length : undefined,
      natoms: label?.forces.length,
      reason: failed?.reason,
      workflowId: p?.workflow_id,
      activityId: p?.activity_id,
      finishedAt: p?.finished_at ?? failed?.at,
    });
  }
  return rows;
}

/** Wall seconds of the tool runs logged in files named like `pattern` under `dirs` (runTool's `# exit` lines). */
export function loggedToolSeconds(dirs: string[], pattern: RegExp): number {
  let total = 0;
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const f = path.join(d, e.name);
      if (e.isDirectory()) walk(f);
      else if (pattern.test(e.name)) for (const m of readFileSync(f, 'utf8').matchAll(/^# exit \S+ after (\d+) ms/gm)) total += Number(m[1]) / 1000;
    }
  };
  dirs.forEach(walk);
  return total;
}

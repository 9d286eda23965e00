// The DFT oracle: one pw.x SCF per activity, idempotent by label key, self-healing by diagnosis: each
// genuine failure is diagnosed from pw.x's output and the next attempt gets the remedy for that cause
// (ladder.ts); an attempt cut short by infrastructure (lost worker, pw.x killed from outside) repeats its
// settings and costs no retry. The ledger of attempts lives beside the files (attempts.ts).
import { activityIds, currentActivity } from '../runtime/context';
import { ApplicationFailure } from '@temporalio/common';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { DftSettings } from '../../common/campaign-schema';
import { NonRetryableErrors, RetryableErrors, genuineRetryableErrorTypes } from '../../common/errors';
import { baseSettings, diagnose, physicsChanges, pwInputData, remedy, type Diagnosis, type Remedy, type ScfSettings } from './ladder';
import { attemptDir, genuineFailures, readLedger, recordAttempt, recordOutcome, type LedgerEntry } from './attempts';
import { readJsonIfExists, writeFileAtomic } from '../runtime/files';
import { canonicalJson, sha256 } from '../runtime/hashing';
import { reapStale, runTool, type RunToolResult } from '../runtime/process';
import { checkPwInput } from './cost';
import { deriveCutoffs } from './pseudopotentials';
import { dftHelperServer } from '../runtime/helper-server';
import { runLayout } from '../../common/run-layout';

export interface DftLabelInput {
  runDir: string;
  structureId: string;
  /** extxyz (or any ASE-readable file) holding the structure, and its index in that file. */
  structureFile: string;
  index?: number;
  dft: DftSettings;
  minDistance?: number;
}

export const DftLabelSchema = z.object({
  structureId: z.string(),
  /** The job key when the physics are the requested ones; the key of the physics used when healing changed them. */
  labelKey: z.string(),
  energy: z.number(),
  free_energy: z.number(),
  forces: z.array(z.array(z.number()).length(3)),
  stress: z.array(z.number()).length(6),
  provenance: z.object({
    oracle: z.literal('dft'),
    /** The ledger's attempt number (crashed attempts included). */
    attempt: z.number(),
    temporal_attempt: z.number().optional(),
    /** The remedy of the settings used ("default": none). */
    rung: z.string(),
    /** True when an SCF failure was healed; a retry after a crash is not healing. */
    healed: z.boolean(),
    genuine_failures: z.number().optional(),
    /** Each genuine failure's diagnosis and the remedy chosen for it, in order. */
    remedies: z.array(z.object({ attempt: z.number(), diagnosis: z.string(), detail: z.string(), remedy: z.string() })).optional(),
    /** Physics settings healing changed, e.g. {smearing: {from: "none", to: "mv"}}; absent: none. */
    physics_changed: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })).optional(),
    /** The key of the settings asked for (the label file's name); labelKey differs when physics changed. */
    job_key: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()),
    kpts: z.array(z.number()),
    qe_version: z.string(),
    wall_seconds: z.number().nullable(),
    scf_iterations: z.number(),
    workflow_id: z.string().optional(),
    activity_id: z.string().optional(),
    finished_at: z.string(),
  }),
});
export type DftLabel = z.infer<typeof DftLabelSchema>;

export interface DftLabelRef {
  structureId: string;
  labelKey: string;
  labelFile: string;
  energy: number;
  attempt: number;
  healed: boolean;
  /** Healing changed physics settings (recorded in the label's provenance; its key differs). */
  physicsChanged: boolean;
  reused: boolean;
}

const QeWriteResult = z.object({ input_file: z.string(), kpts: z.array(z.number()), natoms: z.number(), min_distance: z.number() });
const QeReadResult = z.object({
  energy: z.number(),
  free_energy: z.number(),
  forces: z.array(z.array(z.number())),
  stress: z.array(z.number()),
  scf_iterations: z.number(),
  qe_version: z.string(),
  wall_seconds: z.number().nullable(),
  natoms: z.number(),
});

/** The settings that define a label's physics (a whitelist: new operational keys never change keys). */
const PHYSICS_KEYS = ['code', 'pseudo_dir', 'pseudopotentials', 'ecutwfc', 'ecutrho', 'kspacing', 'smearing', 'degauss', 'spin', 'starting_magnetization', 'conv_thr', 'electron_maxstep', 'mixing_beta'] as const;

/** Settings that change the physics of a label; command, ranks, retries and the like do not. */
export function physicsSettings(dft: DftSettings) {
  return Object.fromEntries(PHYSICS_KEYS.filter((k) => dft[k] !== undefined).map((k) => [k, dft[k]]));
}

export function dftLabelKey(structureId: string, dft: DftSettings): string {
  return sha256(`${structureId}\n${canonicalJson(physicsSettings(dft))}`).slice(0, 24);
}

export function dftDir(runDir: string, structureId: string): string {
  return runLayout(runDir).dftDir(structureId);
}

export function labelFileFor(runDir: string, structureId: string, key: string): string {
  return path.join(dftDir(runDir, structureId), `label-${key}.json`);
}

/** The attempts and scratch of one job (a structure under the requested settings). */
export function jobDirFor(runDir: string, structureId: string, key: string): string {
  return path.join(dftDir(runDir, structureId), key);
}

/** Split a command template such as "mpirun -np {ranks} pw.x" into an argv. */
export function commandArgv(template: string, ranks: number): string[] {
  return template.trim().split(/\s+/).map((t) => t.replaceAll('{ranks}', String(ranks)));
}

function scfProgress() {
  let iteration = 0;
  return (line: string) => {
    const it = line.match(/iteration #\s*(\d+)/);
    if (it) iteration = Number(it[1]);
    const acc = line.match(/estimated scf accuracy\s*<\s*([\d.eE+-]+)\s*Ry/);
    if (acc) return { scf_iteration: iteration, estimated_accuracy_ry: Number(acc[1]) };
    return undefined;
  };
}

function refOf(structureId: string, labelFile: string, label: DftLabel, reused: boolean): DftLabelRef {
  const p = label.provenance;
  return { structureId, labelKey: label.labelKey, labelFile, energy: label.energy, attempt: p.attempt, healed: p.healed, physicsChanged: !!p.physics_changed, reused };
}

/** What the next attempt runs: the remedy for the last genuine failure, or the requested settings. */
export function nextAttempt(dft: DftSettings, ledger: LedgerEntry[]): Remedy & { failures: number } {
  const base = baseSettings(dft);
  const failed = genuineFailures(ledger);
  const last = failed.at(-1);
  if (!last) return { name: 'default', settings: base, restartFromDensity: false, failures: 0 };
  const r = remedy(last.attempt.settings, last.outcome.diagnosis, { lastChance: failed.length === dft.max_retries, base });
  return { ...r, failures: failed.length };
}

function genuine(type: string, message: string, diagnosis: Diagnosis, failures: number, dft: DftSettings, next?: Remedy): ApplicationFailure {
  const final = failures > dft.max_retries;
  return ApplicationFailure.create({
    type,
    nonRetryable: final,
    message: `${message}\ndiagnosis: ${diagnosis.kind}: ${diagnosis.detail}; genuine failure ${failures} of ${dft.max_retries + 1} allowed${final || !next ? '' : `; next attempt: ${next.name}`}`,
    details: [{ diagnosis, failures }],
  });
}

export async function dftLabel(input: DftLabelInput): Promise<DftLabelRef> {
  const { runDir, structureId, dft } = input;
  const key = dftLabelKey(structureId, dft);
  const labelFile = labelFileFor(runDir, structureId, key);
  const existing = readJsonIfExists<DftLabel>(labelFile);
  if (existing) return refOf(structureId, labelFile, existing, true);

  const info = currentActivity()?.info;
  const jobDir = jobDirFor(runDir, structureId, key);
  let ledger = readLedger(jobDir);
  // A worker that died mid-attempt on this host may have left its pw.x running (if its reaper died too):
  // stop it, so no two pw.x ever write this job's scratch at once.
  for (const e of ledger) reapStale(path.join(e.dir, 'pw.pid'), e.dir);
  ledger = readLedger(jobDir);
  const plan = nextAttempt(dft, ledger);
  const lastFailure = genuineFailures(ledger).at(-1);
  if (plan.failures > dft.max_retries && lastFailure) {
    // Asked again (a resumed or restarted campaign) for a job that already used up its retries.
    throw genuine(lastFailure.outcome.type, `already failed ${plan.failures} times: ${lastFailure.outcome.message}`, lastFailure.outcome.diagnosis, plan.failures, dft);
  }
  const n = (ledger.at(-1)?.n ?? 0) + 1;
  const dir = attemptDir(jobDir, n);
  rmSync(dir, { recursive: true, force: true });
  const cut = deriveCutoffs(dft.pseudo_dir, dft.pseudopotentials, dft);
  if (!(cut.ecutwfc > 0 && cut.ecutrho >= cut.ecutwfc)) {
    throw ApplicationFailure.create({ type: NonRetryableErrors.InvalidConfig, nonRetryable: true, message: `dft: ecutrho (${cut.ecutrho}) must be >= ecutwfc (${cut.ecutwfc}) > 0` });
  }
  // Restart from the density only when the attempt before ended by itself: a killed pw.x may have left a
  // half-written one, which would turn a crash into a genuine failure.
  const scratch = path.join(jobDir, 'scratch');
  const previous = ledger.at(-1);
  const cleanScratch = !previous || !!previous.outcome;
  if (!cleanScratch) rmSync(scratch, { recursive: true, force: true });
  const restart = plan.restartFromDensity && cleanScratch && existsSync(path.join(scratch, 'pwscf.save', 'charge-density.dat'));
  const settings: ScfSettings = plan.settings;
  const inputData = pwInputData({ ...dft, ecutwfc: cut.ecutwfc, ecutrho: cut.ecutrho }, settings, restart);
  recordAttempt(dir, {
    n,
    temporal_attempt: info?.attempt ?? 1,
    settings,
    remedy: plan.name,
    restart_from_density: restart,
    started_at: new Date().toISOString(),
    host: os.hostname(),
    pid: process.pid,
  });

  // Through the worker's long-lived DFT helper (ASE stays imported): absolute paths, its cwd is not ours.
  const written = await dftHelperServer().request(
    'qe-write',
    {
      structure_file: path.resolve(input.structureFile),
      index: input.index ?? 0,
      label: structureId,
      directory: path.resolve(dir),
      pseudo_dir: path.resolve(dft.pseudo_dir),
      pseudopotentials: dft.pseudopotentials,
      input_data: inputData,
      kspacing: dft.kspacing,
      min_distance: input.minDistance ?? 0.5,
    },
    QeWriteResult,
    { workDir: dir, logFile: path.join(dir, 'qe-write.log') },
  );

  checkPwInput(written.input_file, dft, `structure ${structureId}`); // the cost guard: refuse before pw.x starts
  let out: z.infer<typeof QeReadResult>;
  try {
    const run = await runPw(dir, dft);
    out = await dftHelperServer().request('qe-read', { output_file: path.resolve(dir, 'espresso.pwo') }, QeReadResult, { workDir: dir, logFile: path.join(dir, 'qe-read.log') });
    if (run.exitCode !== 0) {
      throw ApplicationFailure.create({ type: RetryableErrors.ToolFailed, message: `pw.x exited with ${run.exitCode} although its output looks complete; see ${dir}/pw.log` });
    }
  } catch (err) {
    // Genuine failures (the SCF, pw.x itself) are diagnosed and counted; anything else (a kill from
    // outside, cancellation, a missing tool) passes through untouched.
    if (!(err instanceof ApplicationFailure) || !genuineRetryableErrorTypes.includes(err.type ?? '')) throw err;
    const pwo = path.join(dir, 'espresso.pwo');
    const text = existsSync(pwo) ? readFileSync(pwo, 'utf8') : '';
    const timedOut = (err.details?.[0] as { timedOut?: boolean } | undefined)?.timedOut === true;
    const diagnosis = diagnose(text, { timedOut });
    recordOutcome(dir, { type: err.type!, diagnosis, message: err.message.split('\n')[0]!, at: new Date().toISOString() });
    const after = readLedger(jobDir);
    const failures = genuineFailures(after).length;
    throw genuine(err.type!, err.message, diagnosis, failures, dft, failures <= dft.max_retries ? nextAttempt(dft, after) : undefined);
  }

  const failures = plan.failures;
  const changed = physicsChanges(dft, settings);
  const physicsChanged = Object.keys(changed).length > 0;
  const history = genuineFailures(ledger).map((e, i, all) => ({
    attempt: e.n,
    diagnosis: e.outcome.diagnosis.kind,
    detail: e.outcome.diagnosis.detail,
    remedy: i + 1 < all.length ? all[i + 1]!.attempt.remedy : plan.name,
  }));
  const label: DftLabel = {
    structureId,
    // A label computed with other physics than asked for gets the key of the physics it has, so stores
    // and datasets never mix it up with a label of the requested settings.
    labelKey: physicsChanged ? dftLabelKey(structureId, { ...dft, smearing: settings.smearing, degauss: settings.degauss }) : key,
    energy: out.energy,
    free_energy: out.free_energy,
    forces: out.forces,
    stress: out.stress,
    provenance: {
      oracle: 'dft',
      attempt: n,
      temporal_attempt: info?.attempt ?? 1,
      rung: plan.name,
      healed: failures > 0,
      genuine_failures: failures,
      remedies: history,
      ...(physicsChanged ? { physics_changed: changed } : {}),
      job_key: key,
      parameters: { ...inputData, kpts: written.kpts, pseudopotentials: dft.pseudopotentials, command: dft.command, ranks: dft.ranks },
      kpts: written.kpts,
      qe_version: out.qe_version,
      wall_seconds: out.wall_seconds,
      scf_iterations: out.scf_iterations,
      ...activityIds(),
      finished_at: new Date().toISOString(),
    },
  };
  writeFileAtomic(labelFile, JSON.stringify(DftLabelSchema.parse(label), null, 1));
  return refOf(structureId, labelFile, label, false);
}

/** One pw.x run in `dir` through the command template; its output lands in espresso.pwo. */
async function runPw(dir: string, dft: DftSettings): Promise<RunToolResult> {
  const [exe, ...pre] = commandArgv(dft.command, dft.ranks);
  const run = await runTool({
    command: exe!,
    args: [...pre, '-in', 'espresso.pwi'],
    cwd: dir,
    logFile: path.join(dir, 'pw.log'),
    pidFile: path.join(dir, 'pw.pid'),
    progress: scfProgress(),
    timeoutMs: dft.timeout_minutes * 60_000,
    okExitCodes: [1, 2, 3], // pw.x exits non-zero on an unconverged SCF or an error: the output decides
  }).catch((err: unknown) => {
    // Keep what a timed-out or crashed pw.x printed, for the diagnosis.
    const tail = (err as { details?: { logFile?: string }[] }).details?.[0]?.logFile;
    if (tail && existsSync(tail)) writeFileSync(path.join(dir, 'espresso.pwo'), readFileSync(tail, 'utf8'));
    throw err;
  });
  writeFileSync(path.join(dir, 'espresso.pwo'), run.stdout);
  return run;
}

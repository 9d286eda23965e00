// The DFT oracle: one pw.x SCF per activity, idempotent by label key, self-healing by diagnosis: each
// genuine failure is diagnosed from pw.x's output and the next attempt gets the remedy for that cause
// (ladder.ts); an attempt cut short by infrastructure (lost worker, pw.x killed from outside, a batch
// job lost by its node) repeats its settings and costs no retry. The ledger of attempts lives beside the
// files (attempts.ts). pw.x runs through a launcher (launch.ts: a child process or a Slurm job). The label
// goes into the run's store (structure and label in one transaction) as soon as pw.x produced it; the
// store is where every consumer reads it. dft/<id>/label-<key>.json stays as pw.x's raw record, written
// first, so a worker killed between the two never costs a second SCF.
import { activityIds, currentActivity } from '../runtime/context';
import { ApplicationFailure } from '@temporalio/common';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { DftSettings } from '../../common/campaign-schema';
import { NonRetryableErrors, RetryableErrors, genuineRetryableErrorTypes } from '../../common/errors';
import { baseSettings, diagnose, physicsChanges, pwInputData, remedy, type Diagnosis, type Remedy, type ScfSettings } from './ladder';
import { attemptDir, genuineFailures, readLedger, recordAttempt, recordOutcome, type LedgerEntry } from './attempts';
import { readJsonIfExists, writeFileAtomic } from '../runtime/files';
import { canonicalJson, sha256 } from '../runtime/hashing';
import { checkPwInput } from './cost';
import { deriveCutoffs } from './pseudopotentials';
import { dftHelperServer } from '../runtime/helper-server';
import { runLayout } from '../../common/run-layout';
import { recordPayload, StoreLabel, StoreRecord, storePath } from '../store/store';
import { contract, filePath } from '../runtime/contract';
import { costGuardSettings, pwLauncher, type PwRun } from './launch';

export { commandArgv } from './pw-command';

export interface DftLabelInput {
  runDir: string;
  structureId: string;
  /** extxyz (or any ASE-readable file) holding the structure, and its index in that file. */
  structureFile: string;
  index?: number;
  dft: DftSettings;
  minDistance?: number;
  /** Provenance of the structure in the store when the store does not hold it yet. */
  source?: string;
  generation?: number;
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
    /** The batch job that ran pw.x (dft.launcher: slurm). */
    job: z.object({ launcher: z.literal('slurm'), job_id: z.string(), state: z.string(), reattached: z.boolean() }).optional(),
  }),
});
export type DftLabel = z.infer<typeof DftLabelSchema>;

export interface DftLabelRef {
  structureId: string;
  /** The store key of the label: (structureId, oracle "dft", labelKey). */
  labelKey: string;
  /** pw.x's raw record of this label (the store holds the label itself). */
  labelFile: string;
  energy: number;
  attempt: number;
  healed: boolean;
  /** Healing changed physics settings (recorded in the label's provenance; its key differs). */
  physicsChanged: boolean;
  reused: boolean;
}

export const QeWrite = contract(
  'qe-write',
  z.strictObject({
    structure_file: filePath(),
    index: z.number().int().nonnegative(),
    label: z.string().min(1),
    directory: filePath(),
    pseudo_dir: filePath(),
    pseudopotentials: z.record(z.string(), z.string().min(1)),
    input_data: z.record(z.string(), z.record(z.string(), z.unknown())),
    kspacing: z.number().positive(),
    min_distance: z.number().nonnegative(),
  }),
  z.object({ input_file: z.string(), kpts: z.array(z.number()), natoms: z.number(), min_distance: z.number() }),
);
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

export const QeRead = contract('qe-read', z.strictObject({ output_file: filePath() }), QeReadResult);

/** Settings that change the physics of a label; command, ranks, retries and the launcher do not. */
export function physicsSettings(dft: DftSettings) {
  const { command: _c, ranks: _r, concurrency: _k, max_retries: _m, train_physics_changed: _tp, timeout_minutes: _t, limits: _lim, launcher: _l, slurm: _s, ...physics } = dft;
  // The code is part of the question a label answers (and of every label key made so far).
  return { code: 'quantum_espresso', ...physics };
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

/** The store's DFT label of this key, if any (a flagged failure record does not count). */
async function storedDftLabel(input: DftLabelInput, key: string) {
  const r = await dftHelperServer().request(
    StoreLabel,
    { store: storePath(input.runDir), structure_id: input.structureId, oracle: 'dft', settings_hash: key },
    { workDir: path.join(dftDir(input.runDir, input.structureId), 'logs') },
  );
  return r.label && r.label.energy !== null ? { ...r.label, energy: r.label.energy } : undefined;
}

/** Structure and label into the store, one transaction (replaces a failure record of the same key). */
async function storeDftLabel(input: DftLabelInput, labelFile: string): Promise<void> {
  const dir = path.join(dftDir(input.runDir, input.structureId), 'logs');
  await dftHelperServer().request(
    StoreRecord,
    recordPayload({ runDir: input.runDir, file: input.structureFile, indices: [input.index ?? 0], source: input.source ?? 'dft', generation: input.generation ?? 0, minDistance: input.minDistance, labelFiles: [labelFile] }),
    { workDir: dir, logFile: path.join(dir, 'store.log') },
  );
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

/** What pw.x printed in an attempt (its output file; a killed or timed-out local run: its log). */
function pwOutputText(dir: string): string {
  for (const f of ['espresso.pwo', 'pw.log']) {
    const file = path.join(dir, f);
    if (existsSync(file)) return readFileSync(file, 'utf8');
  }
  return '';
}

export async function dftLabel(input: DftLabelInput): Promise<DftLabelRef> {
  const { runDir, structureId, dft } = input;
  const key = dftLabelKey(structureId, dft);
  const labelFile = labelFileFor(runDir, structureId, key);
  // The raw record first: it holds the key the label was stored under (a healed label whose physics
  // changed has its own); pw.x finished but the worker died before the store write: store it, no second SCF.
  const raw = readJsonIfExists<DftLabel>(labelFile);
  if (raw) {
    if (!(await storedDftLabel(input, raw.labelKey))) await storeDftLabel(input, labelFile);
    return refOf(structureId, labelFile, raw, true);
  }
  const stored = await storedDftLabel(input, key);
  if (stored) {
    const p = stored.provenance as { attempt?: number; healed?: boolean };
    return { structureId, labelKey: key, labelFile, energy: stored.energy, attempt: p.attempt ?? 1, healed: p.healed ?? false, physicsChanged: false, reused: true };
  }

  const jobDir = jobDirFor(runDir, structureId, key);
  // A run an earlier attempt started that outlived its worker (a batch job) is finished from, never
  // repeated; a local leftover pw.x is stopped (launch-local.ts), so no two pw.x write this job's scratch.
  const launcher = pwLauncher(dft.launcher);
  const resumed = await launcher.resume(jobDir, key, dft);
  if (resumed) return finishLabel(input, key, labelFile, jobDir, resumed);

  const info = currentActivity()?.info;
  const ledger = readLedger(jobDir);
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
    QeWrite,
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
    { workDir: dir, logFile: path.join(dir, 'qe-write.log') },
  );

  checkPwInput(written.input_file, costGuardSettings(dft), `structure ${structureId}`); // the cost guard: refuse before pw.x starts
  const run = await diagnosed(jobDir, dir, dft, () => launcher.run({ structureId, labelKey: key, base: jobDir, dir, attempt: n, rung: plan.name, inputData, kpts: written.kpts }, dft));
  return finishLabel(input, key, labelFile, jobDir, run);
}

/**
 * Run `step` for the attempt in `dir`; a genuine failure (the SCF, pw.x itself, a batch job's time
 * limit) is diagnosed from pw.x's output, recorded in the ledger and thrown with the next remedy named.
 * Anything else (a kill from outside, cancellation, a lost node, a missing tool) passes through untouched.
 */
async function diagnosed<T>(jobDir: string, dir: string, dft: DftSettings, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (!(err instanceof ApplicationFailure) || !genuineRetryableErrorTypes.includes(err.type ?? '')) throw err;
    const timedOut = err.type === RetryableErrors.TimeLimit || (err.details?.[0] as { timedOut?: boolean } | undefined)?.timedOut === true;
    const diagnosis = diagnose(pwOutputText(dir), { timedOut });
    recordOutcome(dir, { type: err.type!, diagnosis, message: err.message.split('\n')[0]!, at: new Date().toISOString() });
    const after = readLedger(jobDir);
    const failures = genuineFailures(after).length;
    throw genuine(err.type!, err.message, diagnosis, failures, dft, failures <= dft.max_retries ? nextAttempt(dft, after) : undefined);
  }
}

/** Read a finished run's output into the label file and the store (convergence checked explicitly). */
async function finishLabel(input: DftLabelInput, key: string, labelFile: string, jobDir: string, run: PwRun): Promise<DftLabelRef> {
  const { structureId, dft } = input;
  const { dir } = run;
  const out = await diagnosed(jobDir, dir, dft, async () => {
    const read = await dftHelperServer().request(QeRead, { output_file: path.resolve(run.outputFile) }, { workDir: dir, logFile: path.join(dir, 'qe-read.log') });
    if (run.exitCode !== 0) {
      throw ApplicationFailure.create({ type: RetryableErrors.ToolFailed, message: `pw.x exited with ${run.exitCode} although its output looks complete; see ${run.logFile}` });
    }
    return read;
  });

  // The attempt's own record says which settings ran (a re-attached batch job was started by another).
  const ledger = readLedger(jobDir);
  const entry = ledger.find((e) => e.dir === dir);
  const settings: ScfSettings = entry?.attempt?.settings ?? baseSettings(dft);
  const failed = genuineFailures(ledger).filter((e) => e.n < (entry?.n ?? Infinity));
  const failures = failed.length;
  const changed = physicsChanges(dft, settings);
  const physicsChanged = Object.keys(changed).length > 0;
  const history = failed.map((e, i, all) => ({
    attempt: e.n,
    diagnosis: e.outcome.diagnosis.kind,
    detail: e.outcome.diagnosis.detail,
    remedy: i + 1 < all.length ? all[i + 1]!.attempt.remedy : run.rung,
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
      attempt: run.attempt,
      temporal_attempt: currentActivity()?.info.attempt ?? 1,
      rung: run.rung,
      healed: failures > 0,
      genuine_failures: failures,
      remedies: history,
      ...(physicsChanged ? { physics_changed: changed } : {}),
      job_key: key,
      parameters: { ...run.inputData, kpts: run.kpts, pseudopotentials: dft.pseudopotentials, command: dft.command, ranks: dft.ranks },
      kpts: run.kpts,
      qe_version: out.qe_version,
      wall_seconds: out.wall_seconds,
      scf_iterations: out.scf_iterations,
      ...activityIds(),
      finished_at: new Date().toISOString(),
      ...(run.job ? { job: run.job } : {}),
    },
  };
  writeFileAtomic(labelFile, JSON.stringify(DftLabelSchema.parse(label), null, 1));
  await storeDftLabel(input, labelFile);
  return refOf(structureId, labelFile, label, false);
}

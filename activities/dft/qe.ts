// The DFT oracle: one pw.x SCF per activity, idempotent by label key, self-healing across Temporal
// retries (the attempt number picks the ladder rung), every attempt kept in its own directory. The label
// goes into the run's store (structure and label in one transaction) as soon as pw.x produced it; the
// store is where every consumer reads it. dft/<id>/label-<key>.json stays as pw.x's raw record, written
// first, so a worker killed between the two never costs a second SCF.
import { currentActivity } from '../runtime/context';
import { ApplicationFailure } from '@temporalio/common';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { DftSettings } from '../../common/campaign-schema';
import { NonRetryableErrors } from '../../common/errors';
import { ladderRung, pwInputData } from './ladder';
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
  labelKey: z.string(),
  energy: z.number(),
  free_energy: z.number(),
  forces: z.array(z.array(z.number()).length(3)),
  stress: z.array(z.number()).length(6),
  provenance: z.object({
    oracle: z.literal('dft'),
    attempt: z.number(),
    rung: z.string(),
    healed: z.boolean(),
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

/** Settings that change the physics of a label; command, ranks and retries do not. */
export function physicsSettings(dft: DftSettings) {
  const { command: _c, ranks: _r, concurrency: _k, max_retries: _m, timeout_minutes: _t, limits: _lim, launcher: _l, slurm: _s, ...physics } = dft;
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

export async function dftLabel(input: DftLabelInput): Promise<DftLabelRef> {
  const { runDir, structureId, dft } = input;
  const key = dftLabelKey(structureId, dft);
  const labelFile = labelFileFor(runDir, structureId, key);
  const stored = await storedDftLabel(input, key);
  if (stored) {
    const p = stored.provenance as { attempt?: number; healed?: boolean };
    return { structureId, labelKey: key, labelFile, energy: stored.energy, attempt: p.attempt ?? 1, healed: p.healed ?? false, reused: true };
  }
  // pw.x finished but the worker died before the store write: record the raw label, no second SCF.
  const raw = readJsonIfExists<DftLabel>(labelFile);
  if (raw) {
    await storeDftLabel(input, labelFile);
    const p = raw.provenance;
    return { structureId, labelKey: key, labelFile, energy: raw.energy, attempt: p.attempt, healed: p.healed, reused: true };
  }

  const base = dftDir(runDir, structureId);
  // A run an earlier attempt started that outlived its worker (a batch job) is finished from, never
  // repeated; a local leftover pw.x is stopped (launch-local.ts).
  const launcher = pwLauncher(dft.launcher);
  const resumed = await launcher.resume(base, key, dft);
  if (resumed) return finishLabel(input, key, labelFile, resumed);

  const info = currentActivity()?.info;
  const attempt = info?.attempt ?? 1;
  const rung = ladderRung(dft, attempt);
  const dir = path.join(base, `attempt-${attempt}`);
  rmSync(dir, { recursive: true, force: true });
  const cut = deriveCutoffs(dft.pseudo_dir, dft.pseudopotentials, dft);
  if (!(cut.ecutwfc > 0 && cut.ecutrho >= cut.ecutwfc)) {
    throw ApplicationFailure.create({ type: NonRetryableErrors.InvalidConfig, nonRetryable: true, message: `dft: ecutrho (${cut.ecutrho}) must be >= ecutwfc (${cut.ecutwfc}) > 0` });
  }
  // Restart from the previous attempt's charge density when one was written (pw.x saves it even when
  // the SCF did not converge); a killed attempt leaves none and the rung starts from scratch.
  const scratch = path.join(base, 'scratch');
  const restart = rung.restartFromDensity && existsSync(path.join(scratch, 'pwscf.save', 'charge-density.dat'));
  const inputData = pwInputData({ ...dft, ecutwfc: cut.ecutwfc, ecutrho: cut.ecutrho }, rung, restart);

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
  const run = await launcher.run({ structureId, labelKey: key, base, dir, attempt, rung: rung.name, inputData, kpts: written.kpts }, dft);
  return finishLabel(input, key, labelFile, run);
}

/** Read a finished run's output into the label file (convergence checked explicitly). */
async function finishLabel(input: DftLabelInput, key: string, labelFile: string, run: PwRun): Promise<DftLabelRef> {
  const { structureId, dft } = input;
  const { dir, attempt } = run;
  const info = currentActivity()?.info;
  const out = await dftHelperServer().request(QeRead, { output_file: path.resolve(run.outputFile) }, { workDir: dir, logFile: path.join(dir, 'qe-read.log') });
  if (run.exitCode !== 0) {
    throw ApplicationFailure.create({ type: 'ToolFailed', message: `pw.x exited with ${run.exitCode} although its output looks complete; see ${run.logFile}` });
  }

  const label: DftLabel = {
    structureId,
    labelKey: key,
    energy: out.energy,
    free_energy: out.free_energy,
    forces: out.forces,
    stress: out.stress,
    provenance: {
      oracle: 'dft',
      attempt,
      rung: run.rung,
      healed: attempt > 1,
      parameters: { ...run.inputData, kpts: run.kpts, pseudopotentials: dft.pseudopotentials, command: dft.command, ranks: dft.ranks },
      kpts: run.kpts,
      qe_version: out.qe_version,
      wall_seconds: out.wall_seconds,
      scf_iterations: out.scf_iterations,
      workflow_id: info?.workflowExecution?.workflowId,
      activity_id: info?.activityId,
      finished_at: new Date().toISOString(),
      ...(run.job ? { job: run.job } : {}),
    },
  };
  writeFileAtomic(labelFile, JSON.stringify(DftLabelSchema.parse(label), null, 1));
  await storeDftLabel(input, labelFile);
  return { structureId, labelKey: key, labelFile, energy: label.energy, attempt, healed: attempt > 1, reused: false };
}

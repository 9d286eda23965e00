// The DFT oracle: one pw.x SCF per activity, idempotent by label key, self-healing across Temporal
// retries (the attempt number picks the ladder rung), every attempt kept in its own directory.
import { currentActivity } from '../runtime/context';
import { ApplicationFailure } from '@temporalio/common';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { DftSettings } from '../../common/campaign-schema';
import { NonRetryableErrors } from '../../common/errors';
import { ladderRung, pwInputData } from './ladder';
import { readJsonIfExists, writeFileAtomic } from '../runtime/files';
import { canonicalJson, sha256 } from '../runtime/hashing';
import { reapStale, runTool } from '../runtime/process';
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

/** Settings that change the physics of a label; command, ranks and retries do not. */
export function physicsSettings(dft: DftSettings) {
  const { command: _c, ranks: _r, concurrency: _k, max_retries: _m, timeout_minutes: _t, limits: _l, ...physics } = dft;
  return physics;
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

/** Split a command template such as "mpirun -np {ranks} pw.x" into an argv. */
export function commandArgv(template: string, ranks: number): string[] {
  return template.trim().split(/\s+/).map((t) => t.replaceAll('{ranks}', String(ranks)));
}

/** Heartbeat details from pw.x's output; `who` (structure, attempt, rung) rides along for watchers. */
function scfProgress(who: Record<string, unknown>) {
  let iteration = 0;
  return (line: string) => {
    const it = line.match(/iteration #\s*(\d+)/);
    if (it) iteration = Number(it[1]);
    const acc = line.match(/estimated scf accuracy\s*<\s*([\d.eE+-]+)\s*Ry/);
    if (acc) return { ...who, scf_iteration: iteration, estimated_accuracy_ry: Number(acc[1]) };
    // Before the first iteration pw.x sets up (symmetry, G-vectors, pseudopotentials, starting
    // wavefunctions): its latest line says how far it got.
    if (iteration === 0 && line.trim()) return { ...who, setup: line.trim().slice(0, 100) };
    return undefined;
  };
}


export async function dftLabel(input: DftLabelInput): Promise<DftLabelRef> {
  const { runDir, structureId, dft } = input;
  const key = dftLabelKey(structureId, dft);
  const labelFile = labelFileFor(runDir, structureId, key);
  const existing = readJsonIfExists<DftLabel>(labelFile);
  if (existing) {
    const p = existing.provenance;
    return { structureId, labelKey: key, labelFile, energy: existing.energy, attempt: p.attempt, healed: p.healed, reused: true };
  }

  const info = currentActivity()?.info;
  const attempt = info?.attempt ?? 1;
  const rung = ladderRung(dft, attempt);
  const base = dftDir(runDir, structureId);
  const dir = path.join(base, `attempt-${attempt}`);
  // A worker that died mid-attempt leaves its detached pw.x running and partial files: stop the one,
  // remove the other, so no two pw.x ever write the same structure's scratch at once.
  if (existsSync(base)) {
    for (const d of readdirSync(base).filter((f) => f.startsWith('attempt-'))) reapStale(path.join(base, d, 'pw.pid'), path.join(base, d));
  }
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
  const [exe, ...pre] = commandArgv(dft.command, dft.ranks);
  const run = await runTool({
    command: exe!,
    args: [...pre, '-in', 'espresso.pwi'],
    cwd: dir,
    logFile: path.join(dir, 'pw.log'),
    pidFile: path.join(dir, 'pw.pid'),
    progress: scfProgress({ structure: structureId, attempt, rung: rung.name }),
    // gfortran buffers stdout into a pipe: unbuffered, each SCF iteration reaches the heartbeat as it happens.
    env: { GFORTRAN_UNBUFFERED_PRECONNECTED: 'y' },
    timeoutMs: dft.timeout_minutes * 60_000,
    okExitCodes: [1, 2, 3], // pw.x exits non-zero on an unconverged SCF: the output decides, below
  });
  writeFileSync(path.join(dir, 'espresso.pwo'), run.stdout);
  const out = await dftHelperServer().request('qe-read', { output_file: path.resolve(dir, 'espresso.pwo') }, QeReadResult, { workDir: dir, logFile: path.join(dir, 'qe-read.log') });
  if (run.exitCode !== 0) {
    throw ApplicationFailure.create({ type: 'ToolFailed', message: `pw.x exited with ${run.exitCode} although its output looks complete; see ${dir}/pw.log` });
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
      rung: rung.name,
      healed: attempt > 1,
      parameters: { ...inputData, kpts: written.kpts, pseudopotentials: dft.pseudopotentials, command: dft.command, ranks: dft.ranks },
      kpts: written.kpts,
      qe_version: out.qe_version,
      wall_seconds: out.wall_seconds,
      scf_iterations: out.scf_iterations,
      workflow_id: info?.workflowExecution?.workflowId,
      activity_id: info?.activityId,
      finished_at: new Date().toISOString(),
    },
  };
  writeFileAtomic(labelFile, JSON.stringify(DftLabelSchema.parse(label), null, 1));
  return { structureId, labelKey: key, labelFile, energy: label.energy, attempt, healed: attempt > 1, reused: false };
}

// ACE fits with Pacemaker: pre-flight check, input.yaml from the campaign, `pacemaker input.yaml` with a
// heartbeat per iteration, then pace_yaml2yace (.yace) and pace_activeset (.asi); metrics from
// Pacemaker's own files. Generation 0 fits from scratch; later generations start from the previous
// potential (same basis: continue its coefficients; larger basis: grow it; see pacemaker-input.ts).
// Finished work is kept: a fit with the same inputs returns the finished one, and a fit interrupted by a
// crash resumes from Pacemaker's interim potential (saved every iteration) for the iterations left.
import { ApplicationFailure } from '@temporalio/common';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { TrainingSchema, type TrainingSettings } from '../../common/campaign-schema';
import { NonRetryableErrors } from '../../common/errors';
import { readJsonIfExists, writeFileAtomic } from '../runtime/files';
import { canonicalJson, sha256 } from '../runtime/hashing';
import { nonRetryable, parsePayload, requireFile } from './common';
import { pacemakerInput, potentialSection, type FitMode } from './fit-input';
import { fitProgressParser } from './fit-progress';
import { lastMetricsRow } from './fit-metrics';
import { keepWholeInterim, startFrom, takeInterim } from './fit-resume';
import { reapStale, runTool } from '../runtime/process';
import { callPython } from '../runtime/python';
import { writeLammpsHandover } from '../md/lammps-handover';
import { contract, filePath } from '../runtime/contract';

export const FitInputSchema = z.object({
  /** Output directory for this potential, e.g. runs/<id>/potentials/gen-0. */
  outDir: z.string().min(1),
  datasetFile: z.string().min(1),
  /** A fixed held-out set; without it Pacemaker splits training.test_size off the dataset. */
  testDatasetFile: z.string().min(1).optional(),
  elements: z.array(z.string().min(1)).min(1, 'list at least one element'),
  training: TrainingSchema,
  seed: z.number().int().nonnegative(),
  /** Default: training.maxiter from scratch, training.incremental_maxiter from a previous potential. */
  maxiter: z.number().int().positive().optional(),
  /** The previous generation's potential (.yaml) to start from. */
  initialPotential: z.string().min(1).optional(),
  /** auto: continue when the basis is unchanged, grow when the campaign's basis is larger. */
  incremental: z.enum(['auto', 'continue', 'grow']).default('auto'),
  activeSet: z.boolean().default(true),
  /** A campaign's fit: while the data has too few environments for the active set of training's basis,
   * fit the largest basis it supports (recorded in basisFromData) instead of refusing; later fits grow it. */
  basisFromData: z.boolean().default(false),
  displayStep: z.number().int().positive().optional(),
  /** Pacemaker's per-structure predictions and report plots after the fit (train_pred.pckl.gzip,
   * report/*.png): off by default, as they cost more than a small fit's iterations (matplotlib). */
  predictions: z.boolean().default(false),
});
export type FitInput = z.input<typeof FitInputSchema>;

/** Numbers only (workflows copy them into reports as they are). */
export interface FitMetrics {
  iterations: number;
  train_rmse_energy_mev_atom: number;
  train_rmse_forces_mev_a: number;
  test_rmse_energy_mev_atom?: number;
  test_rmse_forces_mev_a?: number;
  train_loss: number;
  test_loss?: number;
  train_structures: number;
  wall_seconds: number;
  /** ACE functions of the fitted basis (the largest per element): grows with the data under basisFromData. */
  functions_per_element?: number;
}

export interface FitResult {
  mode: FitMode;
  functionsPerElement: Record<string, number>;
  /** ZBL inner cutoff per bond (Å) when derived from the data; absent with a fixed zbl_inner_cutoff. */
  zblInnerCutoffs?: Record<string, number>;
  potentialYaml: string;
  yace: string;
  asi?: string;
  inputYaml: string;
  logFile: string;
  /** Pacemaker's working directory (metrics.txt, test_metrics.txt, fitting_data_info.pckl.gzip). */
  workDir: string;
  metrics: FitMetrics;
  /** Iterations an interrupted attempt had done before this fit resumed from its interim potential. */
  resumedAfterIterations?: number;
  /** Set when the data held too few environments for the basis asked for (input basisFromData). */
  basisFromData?: BasisFromData;
}

const BasisFromDataSchema = z.object({ asked: z.number(), used: z.number(), environments: z.number() });
export type BasisFromData = z.infer<typeof BasisFromDataSchema>;

const DatasetSummary = z.object({ structures: z.number(), atoms_per_element: z.record(z.string(), z.number()), has_energy: z.boolean() });
const CheckResult = z.object({
  dataset: DatasetSummary,
  test_dataset: DatasetSummary.optional(),
  target_functions: z.record(z.string(), z.number()),
  previous_functions: z.record(z.string(), z.number()).optional(),
  previous_reference_energy: z.record(z.string(), z.number()).optional(),
  mode: z.enum(['scratch', 'continue', 'grow']),
  inner_cutoffs: z.record(z.string(), z.number()).optional(),
  closest_pairs: z.record(z.string(), z.number()).optional(),
  seed_potential: z.object({ path: z.string(), lowered_r_in: z.record(z.string(), z.tuple([z.number(), z.number()])) }).optional(),
  basis_from_data: BasisFromDataSchema.optional(),
});

export const AceFitCheck = contract(
  'ace-fit-check',
  z.strictObject({
    potential: z.record(z.string(), z.unknown()),
    elements: z.array(z.string().min(1)).min(1),
    dataset: filePath(),
    test_dataset: filePath().optional(),
    test_size: z.number().min(0).lt(1),
    reference_energies: z.record(z.string(), z.number()).nullable(),
    active_set: z.boolean(),
    basis_from_data: z.boolean().optional(),
    previous_potential: filePath().optional(),
    mode: z.enum(['auto', 'continue', 'grow']),
    zbl_margin: z.number().nonnegative().optional(),
    seed_potential: filePath().optional(),
  }),
  CheckResult,
);

/** Problems in the training settings themselves, each naming the field and the fix. */
export function trainingConfigProblems(t: TrainingSettings, elements: string[]): string[] {
  const problems: string[] = [];
  const dup = elements.filter((e, i) => elements.indexOf(e) !== i);
  if (dup.length) problems.push(`elements: ${dup.join(', ')} listed twice`);
  if (t.zbl_inner_cutoff !== undefined && t.zbl_inner_cutoff >= t.cutoff) {
    problems.push(`training.zbl_inner_cutoff: ${t.zbl_inner_cutoff} Å must be below training.cutoff (${t.cutoff} Å); typical values are 1-2 Å`);
  }
  if (t.reference_energies) {
    const missing = elements.filter((e) => !(e in t.reference_energies!));
    const extra = Object.keys(t.reference_energies).filter((e) => !elements.includes(e));
    if (missing.length) problems.push(`training.reference_energies: no value for ${missing.join(', ')} (give one per element, or drop the key to let Pacemaker fit them)`);
    if (extra.length) problems.push(`training.reference_energies: ${extra.join(', ')} not in the elements (${elements.join(', ')})`);
  }
  return problems;
}

function fileHash(file: string | undefined): string | undefined {
  return file === undefined ? undefined : sha256(readFileSync(file));
}

export async function fitAce(raw: FitInput): Promise<FitResult> {
  const input = parsePayload(FitInputSchema, raw, 'fitAce input');
  const { outDir, training } = input;
  const problems = trainingConfigProblems(training, input.elements);
  if (problems.length) throw nonRetryable(NonRetryableErrors.InvalidConfig, `invalid training settings: ${problems.join('; ')}`);
  requireFile(input.datasetFile, 'dataset', 'write it first with the dataset activity or give the right --dataset');
  requireFile(input.testDatasetFile, 'test dataset', 'give an existing .pckl.gzip or leave it out to split training.test_size off');
  requireFile(input.initialPotential, 'initial potential', "the previous generation's potential.yaml; leave it out to fit from scratch");
  mkdirSync(outDir, { recursive: true });

  // Idempotent: the same inputs (settings and file contents) return the finished fit without rerunning.
  const fingerprint = sha256(canonicalJson({
    ...input,
    outDir: undefined,
    basisFromData: undefined, // a fit it did not shrink is the same fit (and older runs' records stay valid)
    datasetFile: fileHash(input.datasetFile),
    testDatasetFile: fileHash(input.testDatasetFile),
    initialPotential: fileHash(input.initialPotential),
  }));
  const record = path.join(outDir, 'fit.json');
  const done = readJsonIfExists<{ fingerprint: string; result: FitResult }>(record);
  if (done?.fingerprint === fingerprint && (input.basisFromData || !done.result.basisFromData) && existsSync(done.result.potentialYaml) && existsSync(done.result.yace)) return done.result;
  rmSync(record, { force: true }); // files of an earlier fit here stop matching any record once this one starts

  const seed = training.seed ?? input.seed;
  const spec = potentialSection(training, input.elements);
  const check = await callPython(
    AceFitCheck,
    {
      potential: spec,
      elements: input.elements,
      dataset: path.resolve(input.datasetFile),
      test_dataset: input.testDatasetFile && path.resolve(input.testDatasetFile),
      test_size: training.test_size,
      reference_energies: training.reference_energies ?? null,
      active_set: input.activeSet,
      basis_from_data: input.basisFromData || undefined,
      previous_potential: input.initialPotential && path.resolve(input.initialPotential),
      mode: input.incremental,
      zbl_margin: training.zbl_inner_cutoff === undefined ? training.zbl_margin : undefined,
      // Without a fixed zbl_inner_cutoff the previous potential's inner cutoffs are lowered to the new data's first.
      seed_potential: input.initialPotential && training.zbl_inner_cutoff === undefined ? path.resolve(outDir, 'check', 'seed-potential.yaml') : undefined,
    },
    { workDir: path.join(outDir, 'check') },
  );

  // Pacemaker writes into its cwd: a fresh work dir per attempt, results copied out at the end; an
  // interrupted attempt of this same fit leaves its interim potential, which the next one starts from.
  const work = path.join(outDir, 'fit');
  reapStale(path.join(work, 'pacemaker.pid'), work); // a fit left by a dead worker on this host
  const fullMaxiter = input.maxiter ?? (check.mode === 'scratch' ? training.maxiter : training.incremental_maxiter);
  const resume = takeInterim(outDir, work, fingerprint, fullMaxiter);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  writeFileAtomic(path.join(work, 'fingerprint'), `${fingerprint}\n`);
  const maxiter = fullMaxiter - resume.iterations;
  const basis = check.basis_from_data;
  const doc = pacemakerInput(basis ? { ...training, number_of_functions_per_element: basis.used } : training, {
    elements: input.elements,
    datasetFile: path.resolve(input.datasetFile),
    testDatasetFile: input.testDatasetFile && path.resolve(input.testDatasetFile),
    maxiter,
    seed,
    displayStep: input.displayStep,
    mode: check.mode,
    previousPotential: check.seed_potential?.path ?? (input.initialPotential && path.resolve(input.initialPotential)),
    previousReferenceEnergy: check.previous_reference_energy,
    innerCutoffs: check.inner_cutoffs,
  });
  if (resume.interim) startFrom(doc, resume.interim);
  const inputYaml = path.join(work, 'input.yaml');
  writeFileAtomic(inputYaml, YAML.stringify(doc));
  const logFile = path.join(outDir, 'pacemaker.log');
  const started = Date.now();
  const stopKeeping = keepWholeInterim(work);
  try {
    await runTool({ command: 'pacemaker', args: input.predictions ? ['input.yaml'] : ['input.yaml', '--no-predict'], cwd: work, logFile, progress: fitProgressParser(maxiter), env: { TF_CPP_MIN_LOG_LEVEL: '2' }, pidFile: path.join(work, 'pacemaker.pid') });
  } catch (err) {
    if (err instanceof ApplicationFailure && err.type === 'ToolFailed') {
      throw nonRetryable(NonRetryableErrors.TrainingFailed, `pacemaker failed: ${err.message}`);
    }
    throw err;
  } finally {
    stopKeeping();
  }
  const wall = (Date.now() - started) / 1000;
  const out = path.join(work, 'output_potential.yaml');
  if (!existsSync(out)) throw nonRetryable(NonRetryableErrors.TrainingFailed, `pacemaker finished without output_potential.yaml; log: ${logFile}`);
  const potentialYaml = path.join(outDir, 'potential.yaml');
  copyFileSync(out, potentialYaml);
  const yace = path.join(outDir, 'potential.yace');
  await runTool({ command: 'pace_yaml2yace', args: [potentialYaml, '-o', yace], cwd: work, logFile });

  let asi: string | undefined;
  if (input.activeSet) {
    // --all-atoms: every training atom enters the MaxVol search, so every training structure has
    // gamma <= 1 by construction. Pacemaker's default leaves out atoms with large force errors, which
    // would flag structures already in the training set for relabelling in the next generation.
    try {
      await runTool({ command: 'pace_activeset', args: ['-a', '-d', 'fitting_data_info.pckl.gzip', potentialYaml], cwd: work, logFile });
    } catch (err) {
      const tail = err instanceof Error ? err.message : String(err);
      const hint = /under-determined|singular/i.test(tail)
        ? `the active set needs at least as many atomic environments per element as ACE functions (${JSON.stringify(check.target_functions)}): add structures or lower training.number_of_functions_per_element`
        : 'see the log';
      throw nonRetryable(NonRetryableErrors.TrainingFailed, `pace_activeset failed: ${hint}; log: ${logFile}\n${tail}`);
    }
    asi = path.join(outDir, 'potential.asi');
  }

  // cycle_metrics.txt holds the end of each fit cycle; metrics.txt every iteration.
  const train = lastMetricsRow(path.join(work, 'cycle_metrics.txt')) ?? lastMetricsRow(path.join(work, 'metrics.txt'));
  const test = lastMetricsRow(path.join(work, 'test_cycle_metrics.txt')) ?? lastMetricsRow(path.join(work, 'test_metrics.txt'));
  const iterations = resume.iterations + (lastMetricsRow(path.join(work, 'metrics.txt'))?.iter_num ?? 0);
  if (!train) throw nonRetryable(NonRetryableErrors.TrainingFailed, `pacemaker wrote no metrics (no fit iteration ran); log: ${logFile}`);
  const metrics: FitMetrics = {
    iterations,
    train_rmse_energy_mev_atom: (train.rmse_epa ?? NaN) * 1000,
    train_rmse_forces_mev_a: (train.rmse_f_comp ?? NaN) * 1000,
    train_loss: train.loss ?? NaN,
    ...(test ? { test_rmse_energy_mev_atom: (test.rmse_epa ?? NaN) * 1000, test_rmse_forces_mev_a: (test.rmse_f_comp ?? NaN) * 1000, test_loss: test.loss } : {}),
    train_structures: check.dataset.structures,
    functions_per_element: Math.max(...Object.values(check.target_functions)),
    wall_seconds: wall,
  };
  writeFileAtomic(path.join(outDir, 'metrics.json'), JSON.stringify({ mode: check.mode, functions_per_element: check.target_functions, zbl_inner_cutoffs: check.inner_cutoffs, closest_pairs: check.closest_pairs, ...(basis ? { basis_from_data: basis } : {}), ...metrics }, null, 1));
  copyFileSync(inputYaml, path.join(outDir, 'input.yaml'));
  const result: FitResult = { mode: check.mode, functionsPerElement: check.target_functions, zblInnerCutoffs: check.inner_cutoffs, potentialYaml, yace, asi, inputYaml: path.join(outDir, 'input.yaml'), logFile, workDir: work, metrics, ...(resume.interim ? { resumedAfterIterations: resume.iterations } : {}), ...(basis ? { basisFromData: basis } : {}) };
  await writeLammpsHandover(result, input.datasetFile); // in.lammps + structure.data for users' ML-PACE builds
  writeFileAtomic(record, JSON.stringify({ fingerprint, result }, null, 1));
  return result;
}

// ACE fits with Pacemaker: input.yaml from the campaign, `pacemaker input.yaml` with a heartbeat per
// iteration, then pace_yaml2yace (.yace) and pace_activeset (.asi); metrics from Pacemaker's own files.
import { ApplicationFailure } from '@temporalio/common';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { TrainingSettings } from '../common/campaign-schema';
import { NonRetryableErrors } from '../common/errors';
import { writeFileAtomic } from './files';
import { pacemakerInput } from './pacemaker-input';
import { runTool } from './process';

export interface FitInput {
  /** Output directory for this potential, e.g. runs/<id>/potentials/gen-0. */
  outDir: string;
  datasetFile: string;
  testDatasetFile?: string;
  elements: string[];
  training: TrainingSettings;
  seed: number;
  maxiter?: number;
  /** Previous generation's potential (same basis): continue from its coefficients (`-p`). */
  initialPotential?: string;
  activeSet?: boolean;
}

export interface FitMetrics {
  iterations: number;
  train_rmse_energy_mev_atom: number;
  train_rmse_forces_mev_a: number;
  test_rmse_energy_mev_atom?: number;
  test_rmse_forces_mev_a?: number;
  train_loss: number;
  test_loss?: number;
  wall_seconds: number;
}

export interface FitResult {
  potentialYaml: string;
  yace: string;
  asi?: string;
  inputYaml: string;
  metrics: FitMetrics;
}

/** Last row of a Pacemaker metrics table (whitespace-separated, header line first). */
export function lastMetricsRow(file: string): Record<string, number> | undefined {
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, 'utf8').trim().split('\n').filter(Boolean);
  if (lines.length < 2) return undefined;
  const header = lines[0]!.trim().split(/\s+/);
  const values = lines[lines.length - 1]!.trim().split(/\s+/).map(Number);
  return Object.fromEntries(header.map((h, i) => [h, values[i] ?? NaN]));
}

function fitProgress(line: string) {
  const m = line.match(/Iteration\s+#(\d+).*?Loss:\s*([\d.eE+-]+).*?RMSE Energy\(low\):\s*([\d.]+).*?Forces\(low\):\s*([\d.]+)/);
  return m ? { iteration: Number(m[1]), loss: Number(m[2]), rmse_energy_mev_atom: Number(m[3]), rmse_forces_mev_a: Number(m[4]) } : undefined;
}

export async function fitAce(input: FitInput): Promise<FitResult> {
  const { outDir, training } = input;
  if (!existsSync(input.datasetFile)) {
    throw ApplicationFailure.create({ type: NonRetryableErrors.InvalidInput, nonRetryable: true, message: `dataset not found: ${input.datasetFile}` });
  }
  if (input.initialPotential && !existsSync(input.initialPotential)) {
    throw ApplicationFailure.create({ type: NonRetryableErrors.InvalidInput, nonRetryable: true, message: `initial potential not found: ${input.initialPotential}` });
  }
  // Pacemaker writes into its cwd: a fresh work dir per attempt, results copied out at the end.
  const work = path.join(outDir, 'fit');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const maxiter = input.maxiter ?? training.maxiter;
  const doc = pacemakerInput(training, {
    elements: input.elements,
    datasetFile: path.resolve(input.datasetFile),
    testDatasetFile: input.testDatasetFile && path.resolve(input.testDatasetFile),
    maxiter,
    seed: input.seed,
  });
  const inputYaml = path.join(work, 'input.yaml');
  writeFileAtomic(inputYaml, YAML.stringify(doc));
  const args = ['input.yaml'];
  if (input.initialPotential) args.push('-p', path.resolve(input.initialPotential));
  const logFile = path.join(outDir, 'pacemaker.log');
  const started = Date.now();
  try {
    await runTool({ command: 'pacemaker', args, cwd: work, logFile, progress: fitProgress, env: { TF_CPP_MIN_LOG_LEVEL: '2' } });
  } catch (err) {
    if (err instanceof ApplicationFailure && err.type === 'ToolFailed') {
      throw ApplicationFailure.create({ type: NonRetryableErrors.TrainingFailed, nonRetryable: true, message: `pacemaker failed: ${err.message}` });
    }
    throw err;
  }
  const wall = (Date.now() - started) / 1000;
  const out = path.join(work, 'output_potential.yaml');
  if (!existsSync(out)) {
    throw ApplicationFailure.create({ type: NonRetryableErrors.TrainingFailed, nonRetryable: true, message: `pacemaker finished without output_potential.yaml; log: ${logFile}` });
  }
  const potentialYaml = path.join(outDir, 'potential.yaml');
  copyFileSync(out, potentialYaml);
  const yace = path.join(outDir, 'potential.yace');
  await runTool({ command: 'pace_yaml2yace', args: [potentialYaml, '-o', yace], cwd: work, logFile });

  let asi: string | undefined;
  if (input.activeSet !== false) {
    try {
      await runTool({ command: 'pace_activeset', args: ['-d', 'fitting_data_info.pckl.gzip', potentialYaml], cwd: work, logFile });
    } catch (err) {
      const tail = err instanceof Error ? err.message : String(err);
      const hint = /under-determined/.test(tail)
        ? `the active set needs at least number_of_functions_per_element (${training.number_of_functions_per_element}) atomic environments per element: add structures or lower training.number_of_functions_per_element`
        : 'see the log';
      throw ApplicationFailure.create({ type: NonRetryableErrors.TrainingFailed, nonRetryable: true, message: `pace_activeset failed: ${hint}; log: ${logFile}` });
    }
    asi = path.join(outDir, 'potential.asi');
    copyFileSync(potentialYaml.replace(/\.yaml$/, '.asi'), asi);
  }

  // cycle_metrics.txt holds the end of each fit cycle; metrics.txt only every display_step.
  const train = lastMetricsRow(path.join(work, 'cycle_metrics.txt')) ?? lastMetricsRow(path.join(work, 'metrics.txt'));
  const test = lastMetricsRow(path.join(work, 'test_cycle_metrics.txt')) ?? lastMetricsRow(path.join(work, 'test_metrics.txt'));
  const iterations = lastMetricsRow(path.join(work, 'metrics.txt'))?.iter_num ?? 0;
  if (!train) {
    throw ApplicationFailure.create({ type: NonRetryableErrors.TrainingFailed, nonRetryable: true, message: `pacemaker wrote no metrics.txt; log: ${logFile}` });
  }
  const metrics: FitMetrics = {
    iterations,
    train_rmse_energy_mev_atom: (train.rmse_epa ?? NaN) * 1000,
    train_rmse_forces_mev_a: (train.rmse_f_comp ?? NaN) * 1000,
    train_loss: train.loss ?? NaN,
    ...(test
      ? { test_rmse_energy_mev_atom: (test.rmse_epa ?? NaN) * 1000, test_rmse_forces_mev_a: (test.rmse_f_comp ?? NaN) * 1000, test_loss: test.loss }
      : {}),
    wall_seconds: wall,
  };
  writeFileAtomic(path.join(outDir, 'metrics.json'), JSON.stringify(metrics, null, 1));
  copyFileSync(inputYaml, path.join(outDir, 'input.yaml'));
  return { potentialYaml, yace, asi, inputYaml: path.join(outDir, 'input.yaml'), metrics };
}

// `autopipe train --dataset D --config C`: one ACE fit with the campaign's training settings through the
// same fitAce function the workflows use (pre-flight check, Pacemaker with live progress, .yace, active
// set, metrics). --initial-potential continues or grows a previous potential.
import path from 'node:path';
import { campaignFrom, positiveInt, stamp } from '../args';
import type { Register } from '../command-kit';
import { examples } from '../command-kit';
import { InputError, UsageError } from '../errors';
import { defaultRunsDir } from '../../host/paths';

interface TrainOptions {
  dataset?: string;
  config?: string;
  test?: string;
  out?: string;
  initialPotential?: string;
  incremental?: string;
  maxiter?: string;
  activeSet: boolean;
  predictions?: boolean;
  json?: boolean;
}

function fmt(x: number | undefined, digits = 2): string {
  return x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits);
}

async function train(opts: TrainOptions): Promise<number> {
  if (!opts.dataset) throw new UsageError('--dataset D.pckl.gzip is required (a Pacemaker dataset, e.g. from `autopipe dataset export`)');
  if (!opts.config) throw new UsageError('--config CAMPAIGN.yaml is required (its training section, system.elements and seed are used)');
  const incremental = opts.incremental ?? 'auto';
  if (!['auto', 'continue', 'grow'].includes(incremental)) throw new UsageError(`--incremental must be auto, continue or grow (got "${incremental}")`);
  if (opts.incremental && !opts.initialPotential) throw new UsageError('--incremental only applies with --initial-potential');
  const maxiter = positiveInt('--maxiter', opts.maxiter);
  const campaign = campaignFrom(opts.config);
  const outDir = path.resolve(opts.out ?? path.join(defaultRunsDir, `train-${stamp()}`));
  const { runDirectoryProblem } = await import('../../activities/safety/run-directory');
  const badOut = runDirectoryProblem(outDir, '--out');
  if (badOut) throw new InputError(badOut);
  const { fitAce } = await import('../../activities/ace/fit');
  const { watchFitLog } = await import('../fit-log');

  console.error(`fitting into ${outDir} (log: ${path.join(outDir, 'pacemaker.log')})`);
  const shownMaxiter = maxiter ?? (opts.initialPotential ? campaign.training.incremental_maxiter : campaign.training.maxiter);
  const stop = watchFitLog(path.join(outDir, 'pacemaker.log'), shownMaxiter, (p) =>
    console.error(`  iteration ${Math.min(p.iteration, shownMaxiter)}/${shownMaxiter}  loss ${p.loss.toExponential(3)}  RMSE E ${fmt(p.rmse_energy_mev_atom)} meV/atom  F ${fmt(p.rmse_forces_mev_a, 1)} meV/Å`),
  );
  let r;
  try {
    r = await fitAce({
      outDir,
      datasetFile: path.resolve(opts.dataset),
      testDatasetFile: opts.test && path.resolve(opts.test),
      elements: campaign.system.elements,
      training: campaign.training,
      seed: campaign.seed,
      maxiter,
      initialPotential: opts.initialPotential && path.resolve(opts.initialPotential),
      incremental: incremental as 'auto' | 'continue' | 'grow',
      activeSet: opts.activeSet,
      predictions: opts.predictions ?? false,
    });
  } finally {
    stop();
  }
  if (opts.json) {
    console.log(JSON.stringify(r, null, 2));
    return 0;
  }
  const m = r.metrics;
  console.log(`mode ${r.mode}, ${JSON.stringify(r.functionsPerElement)} functions, ${m.iterations} iterations, ${m.train_structures} structures, ${fmt(m.wall_seconds, 1)} s`);
  console.log(`RMSE train: energy ${fmt(m.train_rmse_energy_mev_atom)} meV/atom, forces ${fmt(m.train_rmse_forces_mev_a, 1)} meV/Å`);
  console.log(`RMSE test:  energy ${fmt(m.test_rmse_energy_mev_atom)} meV/atom, forces ${fmt(m.test_rmse_forces_mev_a, 1)} meV/Å`);
  console.log(`potential ${r.potentialYaml}\nyace      ${r.yace}${r.asi ? `\nasi       ${r.asi}` : ''}\ninput     ${r.inputYaml}`);
  return 0;
}

export const register: Register = (program, act) => {
  program
    .command('train')
    .description("fit an ACE potential with Pacemaker, with the campaign's training settings")
    .option('--dataset <file>', 'Pacemaker dataset .pckl.gzip, e.g. from `autopipe dataset export` (required)')
    .option('--config <campaign>', 'campaign file: training section, system.elements, seed (required)')
    .option('--test <file>', 'test dataset .pckl.gzip (default: training.test_size split off the dataset)')
    .option('--out <dir>', 'output directory (default runs/train-<timestamp>)')
    .option('--initial-potential <yaml>', 'continue or grow this potential')
    .option('--incremental <mode>', 'auto, continue or grow (with --initial-potential)')
    .option('--maxiter <n>', 'optimizer iterations (default training.maxiter or incremental_maxiter)')
    .option('--no-active-set', 'skip the active set (.asi) needed for extrapolation grades')
    .option('--predictions', 'write per-structure predictions')
    .option('--json', 'the result as JSON')
    .addHelpText('after', examples('autopipe train --dataset runs/si/datasets/all.pckl.gzip --config examples/si-demo.yaml', 'autopipe train --dataset new.pckl.gzip --config c.yaml --initial-potential gen-1/potential.yaml --incremental grow --maxiter 50'))
    .action(act(train));
};

// `autopipe train --dataset D --config C`: one ACE fit with the campaign's training settings, run
// in-process through the same fitAce activity the workflows use (pre-flight check, Pacemaker with live
// progress, .yace, active set, metrics). --initial-potential continues or grows a previous potential.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fitAce } from '../../activities/ace/fit';
import { defaultRunsDir } from '../../host/paths';
import { campaignOrErrors, positiveInt, reportFailure, watchFitLog } from './train-shared';
import { UsageError, type Command } from './index';

const USAGE =
  'train --dataset D.pckl.gzip --config C [--test T.pckl.gzip] [--out DIR] [--initial-potential P.yaml [--incremental auto|continue|grow]] [--maxiter N] [--no-active-set] [--predictions] [--json]   fit an ACE potential with Pacemaker';

function fmt(x: number | undefined, digits = 2): string {
  return x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits);
}

async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      dataset: { type: 'string' },
      config: { type: 'string' },
      test: { type: 'string' },
      out: { type: 'string' },
      'initial-potential': { type: 'string' },
      incremental: { type: 'string' },
      maxiter: { type: 'string' },
      'no-active-set': { type: 'boolean' },
      predictions: { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  if (positionals.length) throw new UsageError(`train takes no positional arguments (got ${positionals.join(' ')})`);
  if (!values.dataset) throw new UsageError('train: --dataset D.pckl.gzip is required (a Pacemaker dataset, e.g. from `autopipe dataset export`)');
  if (!values.config) throw new UsageError('train: --config CAMPAIGN.yaml is required (its training section, system.elements and seed are used)');
  const incremental = values.incremental ?? 'auto';
  if (!['auto', 'continue', 'grow'].includes(incremental)) throw new UsageError(`--incremental must be auto, continue or grow (got "${incremental}")`);
  if (values.incremental && !values['initial-potential']) throw new UsageError('--incremental only applies with --initial-potential');
  const maxiter = positiveInt('--maxiter', values.maxiter);
  const campaign = campaignOrErrors(values.config);
  if (!campaign) return 1;
  const outDir = path.resolve(values.out ?? path.join(defaultRunsDir, `train-${new Date().toISOString().replace(/[:.]/g, '-')}`));

  return reportFailure('train', async () => {
    console.error(`fitting into ${outDir} (log: ${path.join(outDir, 'pacemaker.log')})`);
    const shownMaxiter = maxiter ?? (values['initial-potential'] ? campaign.training.incremental_maxiter : campaign.training.maxiter);
    const stop = watchFitLog(path.join(outDir, 'pacemaker.log'), shownMaxiter, (p) =>
      console.error(`  iteration ${Math.min(p.iteration, shownMaxiter)}/${shownMaxiter}  loss ${p.loss.toExponential(3)}  RMSE E ${fmt(p.rmse_energy_mev_atom)} meV/atom  F ${fmt(p.rmse_forces_mev_a, 1)} meV/Å`),
    );
    let r;
    try {
      r = await fitAce({
        outDir,
        datasetFile: path.resolve(values.dataset!),
        testDatasetFile: values.test && path.resolve(values.test),
        elements: campaign.system.elements,
        training: campaign.training,
        seed: campaign.seed,
        maxiter,
        initialPotential: values['initial-potential'] && path.resolve(values['initial-potential']),
        incremental: incremental as 'auto' | 'continue' | 'grow',
        activeSet: !values['no-active-set'],
        predictions: values.predictions ?? false,
      });
    } finally {
      stop();
    }
    if (values.json) {
      console.log(JSON.stringify(r, null, 2));
      return 0;
    }
    const m = r.metrics;
    console.log(`mode ${r.mode}, ${JSON.stringify(r.functionsPerElement)} functions, ${m.iterations} iterations, ${m.train_structures} structures, ${fmt(m.wall_seconds, 1)} s`);
    console.log(`RMSE train: energy ${fmt(m.train_rmse_energy_mev_atom)} meV/atom, forces ${fmt(m.train_rmse_forces_mev_a, 1)} meV/Å`);
    console.log(`RMSE test:  energy ${fmt(m.test_rmse_energy_mev_atom)} meV/atom, forces ${fmt(m.test_rmse_forces_mev_a, 1)} meV/Å`);
    console.log(`potential ${r.potentialYaml}\nyace      ${r.yace}${r.asi ? `\nasi       ${r.asi}` : ''}\ninput     ${r.inputYaml}`);
    return 0;
  });
}

export const command: Command = { usage: USAGE, run };

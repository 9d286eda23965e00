// `autopipe select CANDIDATES -n N (--potential P.yaml | --config C)`: D-optimal (MaxVol) choice of the
// n most informative candidates with pace_select, including the potential's active set; with only a
// campaign (no potential yet) the campaign's unfitted basis is used.
import path from 'node:path';
import { campaignFrom, positiveInt } from '../args';
import type { Register } from '../command-kit';
import { examples } from '../command-kit';
import { UsageError } from '../errors';

interface SelectOptions {
  n?: string;
  potential?: string;
  activeSet?: string;
  config?: string;
  out?: string;
  work?: string;
  fill: boolean;
  json?: boolean;
}

async function select(candidatesArg: string, opts: SelectOptions): Promise<number> {
  const n = positiveInt('-n', opts.n);
  if (n === undefined) throw new UsageError('-n N (how many structures to pick) is required');
  if (!opts.potential && !opts.config) throw new UsageError('give --potential P.yaml, or --config C to use the campaign\'s unfitted basis');
  const campaign = opts.config ? campaignFrom(opts.config) : undefined;
  const candidates = path.resolve(candidatesArg);
  const out = path.resolve(opts.out ?? candidates.replace(/(\.[^./]+(\.gzip|\.gz)?)?$/, '.selected.extxyz'));
  const work = path.resolve(opts.work ?? `${out}.work`);
  const { selectDOptimal } = await import('../../activities/ace/selection');
  const r = await selectDOptimal({
    candidates,
    n,
    potential: opts.potential && path.resolve(opts.potential),
    activeSet: opts.activeSet && path.resolve(opts.activeSet),
    training: opts.potential ? undefined : campaign!.training,
    elements: opts.potential ? undefined : campaign!.system.elements,
    workDir: work,
    output: out,
    fill: opts.fill,
    seed: campaign?.seed ?? 0,
  });
  if (opts.json) console.log(JSON.stringify(r, null, 2));
  else {
    console.log(`selected ${r.indices.length} (${r.maxvol} by MaxVol${r.method === 'maxvol-unfitted-basis' ? ' on the unfitted basis' : ''}, ${r.filled} topped up): ${r.indices.join(' ')}`);
    console.log(`structures ${r.output}\nreport     ${r.report}`);
  }
  return 0;
}

export const register: Register = (program, act) => {
  program
    .command('select')
    .description('D-optimal (MaxVol) pick of the N most informative structures')
    .argument('<candidates>', 'candidate structures (extxyz or .pckl.gzip)')
    .option('-n <N>', 'how many structures to pick (required)')
    .option('--potential <yaml>', 'potential whose basis (and active set) measures informativeness')
    .option('--active-set <asi>', 'active set (default the .asi beside the potential)')
    .option('--config <campaign>', "without a potential: the campaign's unfitted basis")
    .option('--out <file>', 'selected structures, extxyz (default CANDIDATES.selected.extxyz)')
    .option('--work <dir>', 'working directory (default OUT.work)')
    .option('--no-fill', 'do not top up with random picks when MaxVol finds fewer than N')
    .option('--json', 'the result as JSON')
    .addHelpText('after', examples('autopipe select cands.extxyz -n 10 --potential runs/si/potentials/gen-1/potential.yaml', 'autopipe select cands.extxyz -n 5 --config examples/si-demo.yaml --out picked.extxyz'))
    .action(act(select));
};

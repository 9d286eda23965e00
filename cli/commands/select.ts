// `autopipe select CANDIDATES -n N (--potential P.yaml | --config C)`: D-optimal (MaxVol) choice of the
// n most informative candidates with pace_select, including the potential's active set; with only a
// campaign (no potential yet) the campaign's unfitted basis is used.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { selectDOptimal } from '../../activities/ace/selection';
import { campaignOrErrors, positiveInt, reportFailure } from './train-shared';
import { UsageError, type Command } from './index';

const USAGE =
  'select CANDIDATES -n N (--potential P.yaml [--active-set A.asi] | --config C) [--out OUT.extxyz] [--work DIR] [--no-fill] [--json]   D-optimal pick of the most informative structures';

async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      n: { type: 'string', short: 'n' },
      potential: { type: 'string' },
      'active-set': { type: 'string' },
      config: { type: 'string' },
      out: { type: 'string' },
      work: { type: 'string' },
      'no-fill': { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('select needs exactly one CANDIDATES file (extxyz or .pckl.gzip)');
  const n = positiveInt('-n', values.n);
  if (n === undefined) throw new UsageError('select: -n N (how many structures to pick) is required');
  if (!values.potential && !values.config) throw new UsageError('select: give --potential P.yaml, or --config C to use the campaign\'s unfitted basis');
  const campaign = values.config ? campaignOrErrors(values.config) : undefined;
  if (values.config && !campaign) return 1;
  const candidates = path.resolve(positionals[0]!);
  const out = path.resolve(values.out ?? candidates.replace(/(\.[^./]+(\.gzip|\.gz)?)?$/, '.selected.extxyz'));
  const work = path.resolve(values.work ?? `${out}.work`);
  return reportFailure('select', async () => {
    const r = await selectDOptimal({
      candidates,
      n,
      potential: values.potential && path.resolve(values.potential),
      activeSet: values['active-set'] && path.resolve(values['active-set']),
      training: values.potential ? undefined : campaign!.training,
      elements: values.potential ? undefined : campaign!.system.elements,
      workDir: work,
      output: out,
      fill: !values['no-fill'],
      seed: campaign?.seed ?? 0,
    });
    if (values.json) console.log(JSON.stringify(r, null, 2));
    else {
      console.log(`selected ${r.indices.length} (${r.maxvol} by MaxVol${r.method === 'maxvol-unfitted-basis' ? ' on the unfitted basis' : ''}, ${r.filled} topped up): ${r.indices.join(' ')}`);
      console.log(`structures ${r.output}\nreport     ${r.report}`);
    }
    return 0;
  });
}

export const command: Command = { usage: USAGE, run };

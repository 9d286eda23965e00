// `autopipe gamma STRUCTURES --potential P.yaml`: per-structure maximum extrapolation grade with the
// potential's active set (pyace calculator), one line per structure plus a summary.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { extrapolationGrade, readGammaRows } from '../../activities/ace/gamma';
import { numberList, reportFailure } from './train-shared';
import { UsageError, type Command } from './index';

const USAGE =
  'gamma STRUCTURES --potential P.yaml [--active-set A.asi] [--threshold 1.5,5] [--out OUT.extxyz] [--results R.json] [--json]   extrapolation grade per structure';

async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      potential: { type: 'string' },
      'active-set': { type: 'string' },
      threshold: { type: 'string' },
      out: { type: 'string' },
      results: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('gamma needs exactly one STRUCTURES file (extxyz or .pckl.gzip)');
  if (!values.potential) throw new UsageError('gamma: --potential P.yaml is required (its .asi beside it is the active set unless --active-set is given)');
  const thresholds = numberList('--threshold', values.threshold);
  return reportFailure('gamma', async () => {
    const r = await extrapolationGrade({
      structures: path.resolve(positionals[0]!),
      potential: path.resolve(values.potential!),
      activeSet: values['active-set'] && path.resolve(values['active-set']),
      results: values.results && path.resolve(values.results),
      output: values.out && path.resolve(values.out),
      thresholds,
    });
    const rows = readGammaRows(r.results);
    if (values.json) {
      console.log(JSON.stringify({ ...r, rows }, null, 2));
      return 0;
    }
    console.log('index  name                 atoms  max_gamma');
    for (const row of rows) {
      console.log(`${String(row.index).padStart(5)}  ${row.name.padEnd(20).slice(0, 20)} ${String(row.natoms).padStart(5)}  ${row.maxGamma.toFixed(3).padStart(9)}${row.flag ? `  (${row.flag})` : ''}`);
    }
    const above = Object.entries(r.above).map(([t, c]) => `${c} above ${t}`).join(', ');
    console.log(`${r.count} structures, max gamma ${r.maxGamma.toFixed(3)}, median ${r.medianGamma?.toFixed(3) ?? '-'}${above ? `, ${above}` : ''}${r.flagged ? `, ${r.flagged} not evaluable` : ''}`);
    console.log(`results ${r.results}`);
    return 0;
  });
}

export const command: Command = { usage: USAGE, run };

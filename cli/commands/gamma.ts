// `autopipe gamma STRUCTURES --potential P.yaml`: per-structure maximum extrapolation grade with the
// potential's active set (pyace calculator), one line per structure plus a summary.
import path from 'node:path';
import { numberList, stamp } from '../args';
import { defaultRunsDir } from '../../host/paths';
import type { Register } from '../command-kit';
import { examples } from '../command-kit';
import { InputError, UsageError } from '../errors';

interface GammaOptions {
  potential?: string;
  activeSet?: string;
  threshold?: string;
  out?: string;
  results?: string;
  json?: boolean;
}

async function gamma(structures: string, opts: GammaOptions): Promise<number> {
  if (!opts.potential) throw new UsageError('--potential P.yaml is required (its .asi beside it is the active set unless --active-set is given)');
  const thresholds = numberList('--threshold', opts.threshold);
  // The results JSON (and the helper's logs beside it) go where the user said, beside --out, or into a
  // fresh run directory: never beside the input structures, which may be a shared or read-only data set.
  const { extrapolationGrade, gammaResultsBeside, readGammaRows } = await import('../../activities/ace/gamma');
  const results = path.resolve(opts.results ?? (opts.out ? gammaResultsBeside(opts.out) : path.join(defaultRunsDir, `gamma-${stamp()}`, 'gamma.json')));
  const { runDirectoryProblem } = await import('../../activities/safety/run-directory');
  const bad = runDirectoryProblem(path.dirname(results), opts.results ? '--results' : opts.out ? '--out' : 'the results folder');
  if (bad) throw new InputError(bad);
  const r = await extrapolationGrade({
    structures: path.resolve(structures),
    potential: path.resolve(opts.potential),
    activeSet: opts.activeSet && path.resolve(opts.activeSet),
    results,
    output: opts.out && path.resolve(opts.out),
    thresholds,
  });
  const rows = readGammaRows(r.results);
  if (opts.json) {
    console.log(JSON.stringify({ ...r, rows }, null, 2));
    return 0;
  }
  console.log('index  name                 atoms  max_gamma');
  for (const row of rows) {
    const g = Number.isFinite(row.maxGamma) ? row.maxGamma.toFixed(3).padStart(9) : '        -';
    console.log(`${String(row.index).padStart(5)}  ${row.name.padEnd(20).slice(0, 20)} ${String(row.natoms).padStart(5)}  ${g}${row.flag ? `  (not evaluable: ${row.flag})` : ''}`);
  }
  // Grades over the structures the potential could evaluate; the others are named, and fail the command.
  const ok = rows.filter((row) => Number.isFinite(row.maxGamma)).map((row) => row.maxGamma);
  const above = Object.entries(r.above).map(([t, c]) => `${c - r.flagged} above ${t}`).join(', ');
  const max = ok.length ? Math.max(...ok).toFixed(3) : '-';
  console.log(`${r.count} structures, max gamma ${max}, median ${r.medianGamma?.toFixed(3) ?? '-'}${above ? `, ${above}` : ''}${r.flagged ? `, ${r.flagged} not evaluable` : ''}`);
  console.log(`results ${r.results}`);
  if (r.flagged) {
    const first = rows.find((row) => row.flag)!;
    console.error(`autopipe gamma: ${r.flagged} of ${r.count} structures could not be evaluated (first: index ${first.index} ${first.name}: ${first.flag}); check them (NaN positions, overlapping atoms, elements the potential lacks)`);
    return 1;
  }
  return 0;
}

export const register: Register = (program, act) => {
  program
    .command('gamma')
    .description("extrapolation grade per structure with a potential's active set")
    .argument('<structures>', 'structures (extxyz or .pckl.gzip)')
    .option('--potential <yaml>', 'potential .yaml (required)')
    .option('--active-set <asi>', 'active set (default the .asi beside the potential)')
    .option('--threshold <list>', 'count structures above these grades, e.g. 1.5,5')
    .option('--out <file>', 'structures with their grades, extxyz')
    .option('--results <file>', 'per-structure results JSON (default beside --out, else runs/gamma-<time>/gamma.json)')
    .option('--json', 'the result as JSON')
    .addHelpText('after', examples('autopipe gamma md-frames.extxyz --potential runs/si/potentials/gen-1/potential.yaml --threshold 1.5,5'))
    .action(act(gamma));
};

// `autopipe evaluate POTENTIAL DATA [--json] [--plot DIR]`: errors of a potential against any labelled
// file, by config type (activities/evaluation/evaluate.ts does the work; this only parses and prints).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ErrorMetrics } from '../../common/evaluation';
import { evaluatePotential, type EvaluateResult } from '../../activities/evaluation/evaluate';
import { reportFailure } from './train-shared';
import { UsageError, type Command } from './index';

const USAGE =
  'evaluate POTENTIAL DATA [--json] [--plot DIR] [--results R.json] [--group-by KEY]   errors against labelled structures, by config type';

const f = (x: number | null | undefined, d = 1) => (x === null || x === undefined ? '-' : x.toFixed(d));

export function formatEvaluation(r: EvaluateResult): string[] {
  const lines: string[] = [];
  const refs = r.referenceEnergies;
  const scale =
    r.energyScale === 'absolute'
      ? r.kind === 'ace'
        ? `absolute: Pacemaker's reference energies from the potential's metadata added back (${Object.entries(refs ?? {})
            .filter(([k]) => k !== 'shift')
            .map(([k, v]) => `${k} ${v.toFixed(4)} eV`)
            .join(', ')}${refs?.shift ? `, shift ${refs.shift.toFixed(4)} eV/atom` : ''})`
        : 'absolute'
      : `relative only (${r.kind === 'ace' ? 'no reference energies in the potential\'s metadata' : 'not on the scale of your DFT'}): read the offset-corrected energy columns`;
  lines.push(`potential  ${r.potential} (${r.kind}); energies ${scale}`);
  lines.push(`data       ${r.data}: ${r.structures} structures, ${r.evaluated} evaluated${r.flagged.length ? `, ${r.flagged.length} not evaluable` : ''}`);
  lines.push(`offset     ${Object.entries(r.offsets_ev_atom).map(([k, v]) => `${k} ${(v * 1000).toFixed(1)}`).join(', ')} meV/atom (least squares per element over all structures, removed in "E-off")`);
  lines.push('');
  lines.push('units: energy meV/atom, forces meV/Å (components), stress GPa (Voigt components)');
  const head = ['group', 'N', 'atoms', 'E RMSE', 'E MAE', 'E-off RMSE', 'E-off MAE', 'F RMSE', 'F MAE', 'F max', '|F| ref rms', 'S RMSE'];
  const row = (name: string, m: ErrorMetrics) => [
    name,
    String(m.n_structures),
    String(m.n_atoms),
    r.energyScale === 'absolute' ? f(m.energy_rmse_mev_atom, 2) : '-',
    r.energyScale === 'absolute' ? f(m.energy_mae_mev_atom, 2) : '-',
    f(m.energy_rmse_mev_atom_offset, 2),
    f(m.energy_mae_mev_atom_offset, 2),
    f(m.forces_rmse_mev_a),
    f(m.forces_mae_mev_a),
    f(m.forces_max_mev_a, 0),
    f(m.forces_ref_rms_mev_a, 0),
    f(m.stress_rmse_gpa, 3),
  ];
  const table = [head, ...Object.entries(r.by_group).map(([g, m]) => row(g, m)), row('all', r.overall)];
  const widths = head.map((_, i) => Math.max(...table.map((t) => t[i]!.length)));
  for (const t of table) lines.push(t.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
  for (const x of r.flagged) lines.push(`not evaluable: ${x.name} (${x.group}): ${x.flag}`);
  return lines;
}

async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      plot: { type: 'string' },
      results: { type: 'string' },
      'group-by': { type: 'string' },
      'energy-key': { type: 'string' },
      'forces-key': { type: 'string' },
      'stress-key': { type: 'string' },
    },
  });
  if (positionals.length !== 2) throw new UsageError('evaluate needs POTENTIAL (potential.yaml, .yace, a.model[,b.model] or chgnet) and DATA (a labelled structure file)');
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-evaluate-'));
  let keep = false;
  try {
    return await reportFailure('evaluate', async () => {
      keep = true; // until it succeeded: the helper's log stays for a failure message that points at it
      const r = await evaluatePotential({
        potential: positionals[0]!,
        data: positionals[1]!,
        results: values.results && path.resolve(values.results),
        plotDir: values.plot && path.resolve(values.plot),
        groupKey: values['group-by'],
        energyKey: values['energy-key'],
        forcesKey: values['forces-key'],
        stressKey: values['stress-key'],
        workDir,
        title: path.basename(path.dirname(path.resolve(positionals[0]!.split(',')[0]!))) + '/' + path.basename(positionals[0]!.split(',')[0]!),
      });
      keep = false;
      const out = values.results ? r : { ...r, results: undefined };
      if (values.json) console.log(JSON.stringify(out, null, 2));
      else {
        formatEvaluation(r).forEach((l) => console.log(l));
        if (values.results) console.log(`per-structure rows: ${r.results}`);
        if (r.plots.length) console.log(`parity plots: ${r.plots.join(', ')}`);
      }
      return 0;
    });
  } finally {
    if (!keep) rmSync(workDir, { recursive: true, force: true });
  }
}

export const command: Command = { usage: USAGE, run };

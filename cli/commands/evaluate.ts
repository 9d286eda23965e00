// `autopipe evaluate POTENTIAL DATA [--json] [--plot DIR]`: errors of a potential against any labelled
// file, by config type (activities/evaluation/evaluate.ts does the work; this only parses and prints).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Register } from '../command-kit';
import { examples } from '../command-kit';
import type { ErrorMetrics } from '../../common/evaluation';
import type { EvaluateResult } from '../../activities/evaluation/evaluate';

interface EvaluateOptions {
  json?: boolean;
  plot?: string;
  results?: string;
  groupBy?: string;
  energyKey?: string;
  forcesKey?: string;
  stressKey?: string;
}

const f = (x: number | null | undefined, d = 1) => (x === null || x === undefined ? '-' : x.toFixed(d));

export function formatEvaluation(r: EvaluateResult): string[] {
  const lines: string[] = [];
  const refs = r.referenceEnergies ?? {};
  const named = Object.entries(refs)
    .filter(([k]) => k !== 'shift')
    .map(([k, v]) => `${k} ${v.toFixed(4)} eV`)
    .join(', ');
  const scale =
    r.energyScale === 'absolute'
      ? r.kind === 'ace'
        ? `absolute: Pacemaker's reference energies from the potential's metadata added back (${named}${refs.shift ? `, shift ${refs.shift.toFixed(4)} eV/atom` : ''})`
        : 'absolute'
      : `relative only (${r.kind === 'ace' ? "no reference energies in the potential's metadata" : 'not on the scale of your DFT'}): read the offset-corrected energy columns`;
  lines.push(`potential  ${r.potential} (${r.kind}); energies ${scale}`);
  lines.push(`data       ${r.data}: ${r.structures} structures, ${r.evaluated} evaluated${r.flagged.length ? `, ${r.flagged.length} not evaluable` : ''}`);
  lines.push(`offset     ${Object.entries(r.offsets_ev_atom).map(([k, v]) => `${k} ${(v * 1000).toFixed(1)}`).join(', ')} meV/atom (least squares per element over all structures, removed in "E-off")`);
  lines.push('');
  lines.push('units: energy meV/atom, forces meV/Å (components), stress GPa (Voigt components)');
  const head = ['group', 'N', 'atoms', 'E RMSE', 'E MAE', 'E-off RMSE', 'E-off MAE', 'F RMSE', 'F MAE', 'F max', '|F| ref rms', 'S RMSE'];
  const abs = r.energyScale === 'absolute';
  const row = (name: string, m: ErrorMetrics) => [
    name,
    String(m.n_structures),
    String(m.n_atoms),
    abs ? f(m.energy_rmse_mev_atom, 2) : '-',
    abs ? f(m.energy_mae_mev_atom, 2) : '-',
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

async function evaluate(potential: string, data: string, opts: EvaluateOptions): Promise<number> {
  const { evaluatePotential } = await import('../../activities/evaluation/evaluate');
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-evaluate-'));
  let ok = false;
  try {
    const first = potential.split(',')[0]!;
    const r = await evaluatePotential({
      potential,
      data,
      results: opts.results && path.resolve(opts.results),
      plotDir: opts.plot && path.resolve(opts.plot),
      groupKey: opts.groupBy,
      energyKey: opts.energyKey,
      forcesKey: opts.forcesKey,
      stressKey: opts.stressKey,
      workDir,
      title: `${path.basename(path.dirname(path.resolve(first)))}/${path.basename(first)}`,
    });
    ok = true;
    if (opts.json) console.log(JSON.stringify(opts.results ? r : { ...r, results: undefined }, null, 2));
    else {
      formatEvaluation(r).forEach((l) => console.log(l));
      if (opts.results) console.log(`per-structure rows: ${r.results}`);
      if (r.plots.length) console.log(`parity plots: ${r.plots.join(', ')}`);
    }
    return 0;
  } finally {
    // The helper's input and log stay only when it failed (the error message points at the log).
    if (ok) rmSync(workDir, { recursive: true, force: true });
  }
}

export const register: Register = (program, act) => {
  program
    .command('evaluate')
    .description('errors of a potential against labelled structures, by config type (RMSE/MAE of energy, forces, stress; parity plots)')
    .argument('<potential>', 'ACE potential.yaml or .yace, MACE .model file(s) joined by commas, chgnet (its wheel\'s weights), chgnet:FILE (fine-tuned), sevennet (SevenNet-0, the sevenn wheel\'s weights) or sevennet:FILE (its energy reference .json, or fine-tuned)')
    .argument('<data>', 'any ASE-readable labelled file (extxyz with REF_* or energy/forces/stress, pw.x output, ...)')
    .option('--json', 'the result as JSON')
    .option('--plot <dir>', 'write parity plots energy.png, forces.png, stress.png here')
    .option('--results <file>', 'per-structure errors, JSON')
    .option('--group-by <key>', 'info key to group structures by', 'config_type')
    .option('--energy-key <key>', 'energy key in the file (default REF_energy, else the calculator energy)')
    .option('--forces-key <key>', 'forces key (default REF_forces, else the calculator forces)')
    .option('--stress-key <key>', 'stress key (default REF_stress, else the calculator stress)')
    .addHelpText(
      'after',
      examples(
        'autopipe evaluate runs/si/potentials/gen-3/potential.yaml bench/testsets/si.extxyz --plot parity/',
        'autopipe evaluate runs/si/teacher/bootstrap/member-0.model,runs/si/teacher/bootstrap/member-1.model bench/testsets/si.extxyz --json',
      ),
    )
    .action(act(evaluate));
};

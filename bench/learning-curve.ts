// The learning curve of a campaign on an independent test set: every generation's potential evaluated
// with `autopipe evaluate`'s library function, against the DFT calls spent when it was fitted.
//
//   npx tsx bench/learning-curve.ts RUN_DIR TESTSET.extxyz [--out RESULT.json] [--label NAME]
//
// DFT calls of generation N = structures with a pw.x label or a recorded failure in RUN_DIR/dft/ older
// than potentials/gen-N/potential.yaml: everything the campaign had paid for when it fitted that potential
// (teacher seeds, validation structures and failed SCFs included).
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { evaluatePotential } from '../activities/evaluation/evaluate';
import { perStructureErrors } from '../activities/evaluation/validation';
import type { ErrorMetrics, PerStructureErrors } from '../common/evaluation';
import { pairedDifference, type Difference } from '../common/validation';

export interface CurvePoint {
  generation: number;
  /** potentials/gen-N (the campaign's fit) or gen-N-dft-only (the teacher gate's fit without the teacher's labels). */
  variant: 'campaign' | 'dft_only';
  /** The potential the campaign went on with (validation/learning-curve.json); absent for runs without a validation set. */
  chosen?: boolean;
  /** The campaign's own validation-set force RMSE of this potential, when it scored it (meV/Å). */
  validation_forces_rmse_mev_a?: number;
  dft_calls: number;
  potential: string;
  energy_rmse_mev_atom: number | null;
  energy_rmse_mev_atom_offset: number;
  forces_rmse_mev_a: number;
  stress_rmse_gpa: number | null;
  by_group: Record<string, Pick<ErrorMetrics, 'energy_rmse_mev_atom_offset' | 'forces_rmse_mev_a' | 'n_structures'>>;
  /**
   * This generation's potential against the previous generation's, pair by pair on the test set's
   * structures (common/validation.ts pairedDifference: this minus previous, 95 % bootstrap interval):
   * the "the error falls, or stays within noise, from each generation to the next".
   */
  from_previous?: { generation: number; forces: Difference & { verdict: Step }; energy: Difference & { verdict: Step } };
}

type Step = 'falls' | 'within noise' | 'rises';
const step = (d: Difference): Step => (d.hi < 0 ? 'falls' : d.lo > 0 ? 'rises' : 'within noise');

/** When each structure's DFT was paid for: the oldest label or failure file in its folder. */
export function dftTimes(runDir: string): number[] {
  const root = path.join(runDir, 'dft');
  if (!existsSync(root)) return [];
  const times: number[] = [];
  for (const id of readdirSync(root)) {
    const dir = path.join(root, id);
    if (!statSync(dir).isDirectory()) continue;
    const files = readdirSync(dir).filter((f) => /^(label|failed)-/.test(f));
    if (files.length) times.push(Math.min(...files.map((f) => statSync(path.join(dir, f)).mtimeMs)));
  }
  return times.sort((a, b) => a - b);
}

export async function learningCurve(runDir: string, testSet: string): Promise<CurvePoint[]> {
  const potDir = path.join(runDir, 'potentials');
  const gens = readdirSync(potDir)
    .map((d) => /^gen-(\d+)(-dft-only)?$/.exec(d))
    .filter((m): m is RegExpExecArray => m !== null && existsSync(path.join(potDir, m[0], 'potential.yaml')))
    .map((m) => ({ g: Number(m[1]), dir: m[0], variant: (m[2] ? 'dft_only' : 'campaign') as CurvePoint['variant'] }))
    .sort((a, b) => a.g - b.g || a.dir.localeCompare(b.dir));
  // The campaign's own validation scores and which fit it went on with (the teacher gate's choice).
  const lcFile = path.join(runDir, 'validation', 'learning-curve.json');
  const own = existsSync(lcFile) ? (JSON.parse(readFileSync(lcFile, 'utf8')) as { points: { generation: number; potential: string; overall: ErrorMetrics }[] }).points : undefined;
  const times = dftTimes(runDir);
  const work = mkdtempSync(path.join(os.tmpdir(), 'autopipe-curve-'));
  const out: CurvePoint[] = [];
  const perStructure = new Map<string, PerStructureErrors>();
  for (const { g, dir, variant } of gens) {
    const pot = path.join(potDir, dir, 'potential.yaml');
    const written = statSync(pot).mtimeMs;
    const r = await evaluatePotential({ potential: pot, data: testSet, workDir: path.join(work, dir), results: path.join(work, dir, 'rows.json') });
    const rows = perStructureErrors(r.results);
    if (rows) perStructure.set(pot, rows);
    const mine = own?.find((p) => p.generation === g);
    const chosen = mine ? path.resolve(mine.potential) === path.resolve(pot) : undefined;
    out.push({
      generation: g,
      variant,
      chosen,
      validation_forces_rmse_mev_a: chosen ? mine!.overall.forces_rmse_mev_a : undefined,
      dft_calls: times.filter((t) => t <= written).length,
      potential: pot,
      energy_rmse_mev_atom: r.energyScale === 'absolute' ? r.overall.energy_rmse_mev_atom : null,
      energy_rmse_mev_atom_offset: r.overall.energy_rmse_mev_atom_offset,
      forces_rmse_mev_a: r.overall.forces_rmse_mev_a,
      stress_rmse_gpa: r.overall.stress_rmse_gpa,
      by_group: Object.fromEntries(
        Object.entries(r.by_group).map(([k, m]) => [k, { energy_rmse_mev_atom_offset: m.energy_rmse_mev_atom_offset, forces_rmse_mev_a: m.forces_rmse_mev_a, n_structures: m.n_structures }]),
      ),
    });
  }
  // Each generation's potential (the fit the campaign went on with; without a validation set, the campaign's fit) against the previous one's.
  const line = out.filter((p) => (p.chosen === undefined ? p.variant === 'campaign' : p.chosen));
  line.forEach((p, i) => {
    const prev = line[i - 1];
    const [a, b] = [perStructure.get(p.potential), prev && perStructure.get(prev.potential)];
    const d = a && b ? pairedDifference(a, b, p.generation) : undefined;
    if (prev && d) p.from_previous = { generation: prev.generation, forces: { ...d.forces, verdict: step(d.forces) }, energy: { ...d.energy, verdict: step(d.energy) } };
  });
  return out;
}

/** The steps from each generation to the next, pair by pair on the test set. */
export function formatSteps(points: CurvePoint[]): string[] {
  const f = (d: Difference & { verdict: Step }, k: number) => `${d.diff >= 0 ? '+' : ''}${d.diff.toFixed(k)} [${d.lo.toFixed(k)}, ${d.hi.toFixed(k)}] ${d.verdict}`;
  return [
    'from the previous generation, pair by pair on the test set (this minus previous, 95 % interval): forces meV/Å; energy after the offset meV/atom',
    ...points.filter((p) => p.from_previous).map((p) => `  ${p.from_previous!.generation} -> ${p.generation}: forces ${f(p.from_previous!.forces, 1)}; energy ${f(p.from_previous!.energy, 2)}`),
  ];
}

export function formatCurve(points: CurvePoint[]): string[] {
  const groups = [...new Set(points.flatMap((p) => Object.keys(p.by_group)))].sort();
  const head = ['gen', 'fit', 'DFT calls', 'F valid.', 'E RMSE', 'E-off RMSE', 'F RMSE', 'S RMSE', ...groups.map((g) => `F ${g}`)];
  const rows = points.map((p) => [
    String(p.generation),
    `${p.variant === 'dft_only' ? 'dft-only' : 'campaign'}${p.chosen ? '*' : ''}`,
    String(p.dft_calls),
    p.validation_forces_rmse_mev_a === undefined ? '-' : p.validation_forces_rmse_mev_a.toFixed(1),
    p.energy_rmse_mev_atom === null ? '-' : p.energy_rmse_mev_atom.toFixed(2),
    p.energy_rmse_mev_atom_offset.toFixed(2),
    p.forces_rmse_mev_a.toFixed(1),
    p.stress_rmse_gpa === null ? '-' : p.stress_rmse_gpa.toFixed(2),
    ...groups.map((g) => (p.by_group[g] ? p.by_group[g]!.forces_rmse_mev_a.toFixed(1) : '-')),
  ]);
  const table = [head, ...rows];
  const w = head.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  return ['energies meV/atom, forces meV/Å, stress GPa; * the fit the campaign went on with; F valid.: its own validation set', ...table.map((r) => r.map((c, i) => c.padStart(w[i]!)).join('  '))];
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { out: { type: 'string' }, label: { type: 'string' } } });
  if (positionals.length !== 2) {
    console.error('usage: npx tsx bench/learning-curve.ts RUN_DIR TESTSET.extxyz [--out RESULT.json] [--label NAME]');
    process.exit(2);
  }
  const [runDir, testSet] = positionals.map((p) => path.resolve(p!)) as [string, string];
  const points = await learningCurve(runDir, testSet);
  formatCurve(points).forEach((l) => console.log(l));
  formatSteps(points).forEach((l) => console.log(l));
  if (values.out) {
    writeFileSync(values.out, JSON.stringify({ label: values.label, runDir, testSet, date: new Date().toISOString(), command: `npx tsx bench/learning-curve.ts ${process.argv.slice(2).join(' ')}`, points }, null, 1));
    console.log(`written ${values.out}`);
  }
}

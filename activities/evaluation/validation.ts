// The campaign's DFT validation set (docs/evaluation.md): which candidates it draws from each pool
// (control queue) and how every generation's potential and the teacher score on it (ml queue). The set
// itself is the store's named set "validation"; its structures carry split=validation, and the store
// refuses them in any set a fit reads, so they are never trained on.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LearningCurveSchema, PerStructureErrorsSchema, type EvaluationSummary, type LearningCurve, type PerStructureErrors } from '../../common/evaluation';
import { runLayout } from '../../common/run-layout';
import { capSamples, poolSamples, stratifiedSamples } from '../../common/validation';
import { writeStructureSubset } from '../campaign/routing';
import { readJsonIfExists } from '../runtime/files';
import { exportDataset } from '../store/datasets';
import { queryStore } from '../store/store';
import { frameHeaders } from '../structures/frame-headers';
import { evaluatePotential } from './evaluate';

export const VALIDATION_SET = 'validation';

export interface DrawValidationInput {
  runDir: string;
  /** Names the files: validation/<name>.extxyz (drawn) and <name>.rest.extxyz (the others). */
  name: string;
  structureFile: string;
  /** Pools: generated structures by their generator mode, MD candidates by temperature (md_900K). */
  poolBy: 'config_type' | 'temperature';
  perPool: number;
  /** At most this many in all (the validation budget left); every pool gets one before any gets two. */
  limit: number;
  seed: number;
  /**
   * MD pools only: within each temperature, take turns over the trajectories' start kinds (the frames'
   * `start`), the first kind turning with this number (the generation). Absent: hash order alone.
   */
  stratifyStarts?: number;
}

export interface ValidationDraw {
  /** The drawn structures, exact extxyz (ids[i] at index i); absent when none was drawn. */
  file?: string;
  ids: string[];
  /** The pool of each drawn structure: its group in every validation score. */
  groups: string[];
  /** Candidates per pool. */
  pools: Record<string, number>;
  /** The frames not drawn (indices into structureFile) and, when some were drawn, their own file. */
  rest: { file: string; indices: number[] };
}

const poolOf = (info: Record<string, string>, by: DrawValidationInput['poolBy']): string => {
  if (by === 'temperature') {
    const t = Number(info.temperature);
    return Number.isFinite(t) ? `md_${Math.round(t)}K` : 'md';
  }
  return info.config_type || 'unlabelled';
};

export async function drawValidation(input: DrawValidationInput): Promise<ValidationDraw> {
  const headers = frameHeaders(input.structureFile);
  const pools: Record<string, string[]> = {};
  const where = new Map<string, { index: number; pool: string; start: string }>();
  headers.forEach((h, index) => {
    const id = h.structure_id;
    if (!id || where.has(id)) return;
    const pool = poolOf(h, input.poolBy);
    (pools[pool] ??= []).push(id);
    where.set(id, { index, pool, start: h.start ?? '' });
  });
  const samples =
    input.stratifyStarts !== undefined && input.poolBy === 'temperature'
      ? stratifiedSamples(pools, (id) => where.get(id)!.start, input.perPool, input.seed, input.stratifyStarts)
      : poolSamples(pools, input.perPool, input.seed);
  const drawn = capSamples(samples, input.limit);
  const picks = Object.values(drawn).flat().map((id) => ({ id, ...where.get(id)! })).sort((a, b) => a.index - b.index);
  const all = headers.map((_, i) => i);
  const counts = Object.fromEntries(Object.entries(pools).map(([k, v]) => [k, v.length]));
  if (picks.length === 0) return { ids: [], groups: [], pools: counts, rest: { file: input.structureFile, indices: all } };
  const run = runLayout(input.runDir);
  mkdirSync(run.validationDir, { recursive: true });
  const taken = new Set(picks.map((p) => p.index));
  const restIdx = all.filter((i) => !taken.has(i));
  const sub = await writeStructureSubset({ structureFile: input.structureFile, indices: picks.map((p) => p.index), output: run.validationFile(`${input.name}.extxyz`) });
  const rest = await writeStructureSubset({ structureFile: input.structureFile, indices: restIdx, output: run.validationFile(`${input.name}.rest.extxyz`) });
  return { file: sub.output, ids: picks.map((p) => p.id), groups: picks.map((p) => p.pool), pools: counts, rest: { file: rest.output, indices: restIdx } };
}

export interface ScoreValidationInput {
  runDir: string;
  /** Names the export and the score files: validation/<name>.* */
  name: string;
  /** What to score, by name (e.g. potential, dft_only, teacher): a potential.yaml, MACE model files joined by commas, or "chgnet". */
  potentials: Record<string, string>;
  /** Write this generation's parity data from the `potential` score (validation/gen-N/parity.json, the report's plots). */
  parityGeneration?: number;
  /** The set's size when every curve point comes with its scores (nothing to evaluate: only the file is written). */
  structures?: number;
  /**
   * Also re-score these generations' potentials on this same set: the learning curve
   * (validation/learning-curve.json). A point that comes with its scores (the set has not grown since) is
   * kept as it is; when none needs scoring, the set is not exported again.
   */
  curve?: CurvePoint[];
}

export type CurvePoint = { generation: number; dft_calls: number; dft_trained: number; potential: string } & Partial<Pick<LearningCurve['points'][number], 'overall' | 'by_group' | 'per_structure'>>;

export interface ValidationScores {
  /** Validation structures scored (0: the set is still empty, nothing was scored). */
  structures: number;
  file?: string;
  scores: Record<string, EvaluationSummary>;
  /** Each scored potential's errors structure by structure (the hand-over's paired comparison); not part of the summaries, which the status carries. */
  perStructure?: Record<string, PerStructureErrors>;
  /** Potentials that could not be scored, with the reason. */
  failed: Record<string, string>;
  curve?: LearningCurve;
}

const summary = (r: Awaited<ReturnType<typeof evaluatePotential>>): EvaluationSummary => ({ energyScale: r.energyScale, offsets_ev_atom: r.offsets_ev_atom, overall: r.overall, by_group: r.by_group });

/** One structure's row as evaluate.py writes it (`results`: rows.json). */
interface EvaluationRow {
  name: string;
  natoms: number;
  energy_ref: number;
  energy_pred: number;
  forces_rmse_mev_a: number;
  energy_error_mev_atom_offset: number;
}

const readRows = (rowsFile: string): EvaluationRow[] => readJsonIfExists<{ structures: EvaluationRow[] }>(rowsFile)?.structures ?? [];

/** A potential's rows as the per-structure errors a paired comparison reads. */
function toPerStructure(rows: EvaluationRow[]): PerStructureErrors | undefined {
  if (!rows.length) return undefined;
  return PerStructureErrorsSchema.parse({
    ids: rows.map((r) => r.name),
    natoms: rows.map((r) => r.natoms),
    forces_rmse_mev_a: rows.map((r) => r.forces_rmse_mev_a),
    energy_error_mev_atom_offset: rows.map((r) => r.energy_error_mev_atom_offset),
  });
}

/** The rows evaluate.py wrote for one potential, as per-structure errors (the benches read them too). */
export const perStructureErrors = (rowsFile: string): PerStructureErrors | undefined => toPerStructure(readRows(rowsFile));

/** Energy per atom, DFT against the potential, per validation structure (the report's parity plot). */
function writeParity(dir: string, rows: EvaluationRow[]): void {
  if (!rows.length) return;
  mkdirSync(dir, { recursive: true });
  const energy = { ref: rows.map((r) => r.energy_ref / r.natoms), pred: rows.map((r) => r.energy_pred / r.natoms) };
  writeFileSync(path.join(dir, 'parity.json'), JSON.stringify({ energy }));
}

export async function scoreValidation(input: ScoreValidationInput): Promise<ValidationScores> {
  const run = runLayout(input.runDir);
  const known = input.curve?.length && Object.keys(input.potentials).length === 0 && input.curve.every((p) => p.overall && p.by_group) ? input.curve : undefined;
  if (known && input.structures !== undefined) {
    const curve = LearningCurveSchema.parse({ structures: input.structures, points: known });
    mkdirSync(run.validationDir, { recursive: true });
    writeFileSync(run.learningCurve, JSON.stringify(curve, null, 1));
    return { structures: input.structures, scores: {}, failed: {}, curve };
  }
  const held = await queryStore({ runDir: input.runDir, filter: { split: 'validation', labelState: 'labelled', oracle: 'dft' }, limit: 1 });
  if (held.count === 0) return { structures: 0, scores: {}, failed: {} };
  const data = await exportDataset({ runDir: input.runDir, name: input.name, outDir: run.validationDir, formats: ['extxyz'], sets: [VALIDATION_SET] });
  const file = data.extxyz!;
  const out: ValidationScores = { structures: data.count, file, scores: {}, failed: {} };
  const score = (name: string, potential: string) =>
    evaluatePotential({ potential, data: file, workDir: run.validationFile(`${input.name}-${name}`), results: run.validationFile(`${input.name}-${name}/rows.json`) });
  for (const [name, potential] of Object.entries(input.potentials)) {
    try {
      const r = await score(name, potential);
      out.scores[name] = summary(r);
      const rows = readRows(r.results);
      const errors = toPerStructure(rows);
      if (errors) (out.perStructure ??= {})[name] = errors;
      if (name === 'potential' && input.parityGeneration !== undefined) writeParity(run.validation(input.parityGeneration), rows);
    } catch (err) {
      out.failed[name] = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300);
    }
  }
  if (input.curve?.length) {
    const points: LearningCurve['points'] = [];
    for (const p of input.curve) {
      if (p.overall && p.by_group) {
        points.push({ ...p, overall: p.overall, by_group: p.by_group });
        continue;
      }
      try {
        const r = await score(`curve-gen-${p.generation}`, p.potential);
        points.push({ ...p, overall: r.overall, by_group: r.by_group, per_structure: perStructureErrors(r.results) });
      } catch (err) {
        out.failed[`curve gen ${p.generation}`] = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300);
      }
    }
    out.curve = LearningCurveSchema.parse({ structures: data.count, points });
    writeFileSync(run.learningCurve, JSON.stringify(out.curve, null, 1));
  }
  writeFileSync(run.validationFile(`${input.name}.scores.json`), JSON.stringify(out, null, 1));
  return out;
}


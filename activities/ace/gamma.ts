// Extrapolation grade of structures under an ACE potential: per-structure maximum of the per-atom gamma
// from pyace's ASE calculator with the potential's active set (pace_eval.py). The per-structure rows go
// to a JSON file; the payload carries the path and a summary only.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { activeSetOf, jsonNumber, parsePayload, requireFile } from './common';
import { callPython } from '../runtime/python';
import { contract, filePath } from '../runtime/contract';

export const GammaInputSchema = z.object({
  /** Any ASE-readable file (extxyz) or a Pacemaker .pckl.gzip. */
  structures: z.string().min(1),
  /** The B-basis potential (.yaml); pyace's active-set evaluator does not read .yace. */
  potential: z.string().min(1),
  /** Default: the .asi beside the potential. */
  activeSet: z.string().min(1).optional(),
  /** Per-structure rows (JSON); default beside `structures` as <name>.gamma.json. */
  results: z.string().min(1).optional(),
  /** Optional extxyz with ACE_energy, ACE_forces, per-atom gamma and max_gamma. */
  output: z.string().min(1).optional(),
  /** Count structures above each of these grades (e.g. exploration.gamma_select, gamma_halt). */
  thresholds: z.array(z.number().positive()).default([]),
});
export type GammaInput = z.input<typeof GammaInputSchema>;

const jsonNum = z.union([z.number(), z.enum(['inf', '-inf', 'nan'])]);
const SummarySchema = z.object({
  count: z.number().int(),
  flagged: z.number().int(),
  max_gamma: jsonNum,
  median_gamma: z.number().nullable(),
  above: z.record(z.string(), z.number().int()),
});

export const AceGamma = contract(
  'ace-gamma',
  z.strictObject({ potential: filePath(), active_set: filePath(), structures: filePath(), results: filePath(), output: filePath().optional(), thresholds: z.array(z.number().positive()) }),
  SummarySchema,
);

export interface GammaResult {
  results: string;
  output?: string;
  count: number;
  /** Structures the potential could not evaluate (their gamma is Infinity). */
  flagged: number;
  maxGamma: number;
  medianGamma: number | null;
  above: Record<string, number>;
}

export interface GammaRow {
  index: number;
  name: string;
  natoms: number;
  maxGamma: number;
  energy: number | null;
  flag: string | null;
}

/** The default results file for grades of `file`: beside it, named after it (`x.extxyz` -> `x.gamma.json`). */
export function gammaResultsBeside(file: string): string {
  return path.resolve(file.replace(/(\.[^./]+(\.gzip|\.gz)?)?$/, '.gamma.json'));
}

export async function extrapolationGrade(raw: GammaInput): Promise<GammaResult> {
  const input = parsePayload(GammaInputSchema, raw, 'extrapolationGrade input');
  requireFile(input.structures, 'structures', 'write them first');
  requireFile(input.potential, 'potential', 'a fitted potential.yaml');
  const activeSet = input.activeSet ?? activeSetOf(input.potential);
  requireFile(activeSet, 'active set', 'fit with the active set on (pace_activeset), or pass activeSet');
  const results = input.results ? path.resolve(input.results) : gammaResultsBeside(input.structures);
  const s = await callPython(
    AceGamma,
    { potential: path.resolve(input.potential), active_set: path.resolve(activeSet), structures: path.resolve(input.structures), results, output: input.output && path.resolve(input.output), thresholds: input.thresholds },
    { workDir: path.join(path.dirname(results), 'logs') },
  );
  return { results, output: input.output, count: s.count, flagged: s.flagged, maxGamma: jsonNumber(s.max_gamma)!, medianGamma: s.median_gamma, above: s.above };
}

const RowSchema = z.object({ index: z.number(), name: z.string(), natoms: z.number(), max_gamma: jsonNum, energy: z.number().nullable(), flag: z.string().nullable() });

/** The per-structure rows an extrapolationGrade call wrote. */
export function readGammaRows(file: string): GammaRow[] {
  return z.array(RowSchema).parse(JSON.parse(readFileSync(file, 'utf8'))).map((r) => ({
    index: r.index, name: r.name, natoms: r.natoms, maxGamma: jsonNumber(r.max_gamma)!, energy: r.energy, flag: r.flag,
  }));
}

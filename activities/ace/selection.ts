// D-optimal (MaxVol) selection of the most informative candidates with Pacemaker's `pace_select`,
// starting from the potential's existing active set, so picks extend what the training set already
// covers. Fallback with no potential yet (generation 0): the same MaxVol on the B-projections of the
// campaign's basis, unfitted (radial coefficients at Pacemaker's initial values). MaxVol may pick fewer
// than n; the rest are topped up by extrapolation grade (or uniformly with the seed when there is no
// active set), and each pick says how it was chosen.
import path from 'node:path';
import { mkdirSync, rmSync } from 'node:fs';
import { z } from 'zod';
import { TrainingSchema } from '../../common/campaign-schema';
import { NonRetryableErrors } from '../../common/errors';
import { activeSetOf, nonRetryable, parsePayload, requireFile } from './common';
import { potentialSection } from './fit-input';
import { runTool } from '../runtime/process';
import { callPython } from '../runtime/python';
import { contract, filePath } from '../runtime/contract';

export const SelectInputSchema = z
  .object({
    /** Candidate structures: any ASE-readable file (extxyz) or a Pacemaker .pckl.gzip. */
    candidates: z.string().min(1),
    n: z.number().int().positive(),
    /** The current potential (.yaml); its .asi beside it (or `activeSet`) joins the MaxVol search. */
    potential: z.string().min(1).optional(),
    activeSet: z.string().min(1).optional(),
    /** Without a potential: the campaign's training settings and elements define the basis. */
    training: TrainingSchema.optional(),
    elements: z.array(z.string().min(1)).min(1).optional(),
    /** Directory for pace_select's files and logs. */
    workDir: z.string().min(1),
    /** The selected structures as extxyz (info: candidate_index, selected_by). */
    output: z.string().min(1).optional(),
    fill: z.boolean().default(true),
    seed: z.number().int().nonnegative().default(0),
  })
  .refine((s) => s.potential !== undefined || (s.training !== undefined && s.elements !== undefined), {
    error: 'give potential, or training and elements for the no-potential fallback',
    path: ['potential'],
  });
export type SelectInput = z.input<typeof SelectInputSchema>;

export const AceCandidates = contract(
  'ace-candidates',
  z.strictObject({ structures: filePath(), out: filePath(), potential: filePath().optional(), basis: z.record(z.string(), z.unknown()).optional(), basis_out: filePath().optional() }),
  z.object({ count: z.number().int() }),
);
export const AceSelected = contract(
  'ace-selected',
  z.strictObject({
    candidates: filePath(),
    selected: filePath(),
    n: z.number().int().positive(),
    seed: z.number().int().nonnegative(),
    fill: z.boolean(),
    potential: filePath().optional(),
    active_set: filePath().optional(),
    output: filePath(),
    report: filePath(),
  }),
  z.object({ indices: z.array(z.number().int()), maxvol: z.number().int(), filled: z.number().int() }),
);

export interface SelectResult {
  /** Indices into the candidates file, most informative first. */
  indices: number[];
  /** How many MaxVol chose; the rest were topped up (see report). */
  maxvol: number;
  filled: number;
  method: 'maxvol' | 'maxvol-unfitted-basis';
  output: string;
  report: string;
}

export async function selectDOptimal(raw: SelectInput): Promise<SelectResult> {
  const input = parsePayload(SelectInputSchema, raw, 'selectDOptimal input');
  requireFile(input.candidates, 'candidates', 'write the candidate structures first');
  requireFile(input.potential, 'potential', "the current generation's potential.yaml");
  const asi = input.activeSet ?? (input.potential ? activeSetOf(input.potential) : undefined);
  if (input.activeSet) requireFile(input.activeSet, 'active set', 'fit with the active set on');
  const work = path.resolve(input.workDir);
  mkdirSync(work, { recursive: true });
  const cands = path.join(work, 'candidates.pckl.gzip');
  const selected = path.join(work, 'selected.pkl.gz');
  rmSync(selected, { force: true });
  const logFile = path.join(work, 'select.log');

  // The fallback writes the unfitted basis into the work dir (no .asi beside it: MaxVol over candidates only).
  const basisYaml = input.potential ? path.resolve(input.potential) : path.join(work, 'unfitted-basis.yaml');
  await callPython(
    AceCandidates,
    {
      structures: path.resolve(input.candidates),
      out: cands,
      potential: input.potential && path.resolve(input.potential),
      basis: input.potential ? undefined : potentialSection(input.training!, input.elements!),
      basis_out: input.potential ? undefined : basisYaml,
    },
    { workDir: work, logFile },
  );
  const args = [cands, '-p', basisYaml, '-m', String(input.n), '-o', selected, '-V'];
  if (asi && input.potential) args.push('-a', asi);
  await runTool({ command: 'pace_select', args, cwd: work, logFile }).catch((err: unknown) => {
    throw nonRetryable(NonRetryableErrors.HelperFailed, `pace_select failed: ${err instanceof Error ? err.message : String(err)}`);
  });

  const output = input.output ? path.resolve(input.output) : path.join(work, 'selected.extxyz');
  const report = path.join(work, 'selection.json');
  const r = await callPython(
    AceSelected,
    { candidates: cands, selected, n: input.n, seed: input.seed, fill: input.fill, potential: input.potential && basisYaml, active_set: input.potential ? asi : undefined, output, report },
    { workDir: work, logFile },
  );
  return { ...r, method: input.potential ? 'maxvol' : 'maxvol-unfitted-basis', output, report };
}

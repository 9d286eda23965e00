// Errors of a potential (ACE .yaml/.yace, MACE .model files, or CHGNet, bundled or fine-tuned) against labelled structures, by
// config type, with parity plots: the library function behind `autopipe evaluate` and the campaign's
// validation scoring. The numbers come from activities/evaluation/metrics.py; per-structure rows go to a
// JSON file, the payload carries the summary.
import path from 'node:path';
import { z } from 'zod';
import { ErrorMetricsSchema, type EvaluationSummary } from '../../common/evaluation';
import { parsePayload, requireFile } from '../ace/common';
import { contract, filePath } from '../runtime/contract';
import { callPython } from '../runtime/python';

export const EvaluateInputSchema = z.object({
  /** potential.yaml / potential.yace (ACE), a.model[,b.model] (MACE committee), "chgnet", "chgnet:FILE" (fine-tuned) or "sevennet". */
  potential: z.string().min(1),
  /** Any ASE-readable labelled file (extxyz with REF_* or ASE's energy/forces/stress keys, pw.x output, ...). */
  data: z.string().min(1),
  /** Per-structure rows; default beside `data`'s name in workDir. */
  results: z.string().min(1).optional(),
  /** Write energy.png, forces.png, stress.png here. */
  plotDir: z.string().min(1).optional(),
  /** The info key structures are grouped by. */
  groupKey: z.string().min(1).default('config_type'),
  energyKey: z.string().min(1).optional(),
  forcesKey: z.string().min(1).optional(),
  stressKey: z.string().min(1).optional(),
  /** Where the helper's input and log go. */
  workDir: z.string().min(1),
  title: z.string().optional(),
  device: z.enum(['cpu', 'cuda']).default('cpu'),
});
export type EvaluateInput = z.input<typeof EvaluateInputSchema>;

const ReplySchema = z.object({
  potential: z.string(),
  data: z.string(),
  predictor: z.object({ kind: z.string(), energy_scale: z.enum(['absolute', 'relative']), reference_energies: z.record(z.string(), z.number()).nullable() }),
  structures: z.number().int(),
  evaluated: z.number().int(),
  flagged: z.array(z.object({ index: z.number(), name: z.string(), group: z.string(), flag: z.string() })),
  offsets_ev_atom: z.record(z.string(), z.number()),
  overall: ErrorMetricsSchema,
  by_group: z.record(z.string(), ErrorMetricsSchema),
  files: z.object({ results: z.string().optional(), plots: z.array(z.string()).optional() }),
});
export type EvaluateReply = z.infer<typeof ReplySchema>;

export const EvaluationScore = contract(
  'evaluation-score',
  z.strictObject({
    potential: z.string().min(1),
    data: filePath(),
    results: filePath(),
    plot_dir: filePath().optional(),
    group_key: z.string().min(1),
    energy_key: z.string().min(1).optional(),
    forces_key: z.string().min(1).optional(),
    stress_key: z.string().min(1).optional(),
    title: z.string().optional(),
    device: z.enum(['cpu', 'cuda']),
  }),
  ReplySchema,
);

export interface EvaluateResult extends EvaluationSummary {
  potential: string;
  data: string;
  kind: string;
  referenceEnergies: Record<string, number> | null;
  structures: number;
  evaluated: number;
  flagged: EvaluateReply['flagged'];
  results: string;
  plots: string[];
}

/** Foundation models named by their bundled weights: CHGNet's and SevenNet-0's. */
const isSpecial = (p: string) => p === 'chgnet' || p === 'sevennet';
/** "chgnet:FILE": a fine-tuned CHGNet (the campaign's teacher after a fine-tune); "sevennet:FILE": SevenNet-0
 * with a campaign's energy reference (.json), or fine-tuned. */
const foundationFile = (p: string) => /^(chgnet|sevennet):(.+)$/.exec(p)?.slice(1) as [string, string] | undefined;

export async function evaluatePotential(raw: EvaluateInput): Promise<EvaluateResult> {
  const input = parsePayload(EvaluateInputSchema, raw, 'evaluatePotential input');
  const [named, tuned] = foundationFile(input.potential) ?? [];
  const models = isSpecial(input.potential) ? [] : tuned !== undefined ? [tuned] : input.potential.split(',').filter(Boolean);
  for (const m of models) requireFile(m, 'potential', 'give a fitted potential.yaml/.yace, MACE .model file(s), "chgnet", "chgnet:FILE" (a fine-tuned CHGNet), "sevennet" or "sevennet:FILE" (with an energy reference .json, or a fine-tuned SevenNet-0)');
  requireFile(input.data, 'labelled data', 'any ASE-readable file with energies and forces');
  const potential = isSpecial(input.potential) ? input.potential : tuned !== undefined ? `${named}:${path.resolve(tuned)}` : models.map((m) => path.resolve(m)).join(',');
  const results = path.resolve(input.results ?? path.join(input.workDir, `${path.basename(input.data).replace(/\.[^.]+$/, '')}.evaluation.json`));
  const r = await callPython(
    EvaluationScore,
    {
      potential,
      data: path.resolve(input.data),
      results,
      plot_dir: input.plotDir && path.resolve(input.plotDir),
      group_key: input.groupKey,
      energy_key: input.energyKey,
      forces_key: input.forcesKey,
      stress_key: input.stressKey,
      title: input.title,
      device: input.device,
    },
    { workDir: input.workDir },
  );
  return {
    potential: r.potential,
    data: r.data,
    kind: r.predictor.kind,
    energyScale: r.predictor.energy_scale,
    referenceEnergies: r.predictor.reference_energies,
    structures: r.structures,
    evaluated: r.evaluated,
    flagged: r.flagged,
    offsets_ev_atom: r.offsets_ev_atom,
    overall: r.overall,
    by_group: r.by_group,
    results: r.files.results ?? results,
    plots: r.files.plots ?? [],
  };
}

// The campaign's DFT validation set and the teacher's gate, as the campaign uses them (docs/evaluation.md):
//
//   - drawn as the campaign goes: per_pool random candidates of each pool (each generator mode at
//     generation 0, each exploration temperature's MD candidates every generation, taking turns over
//     the trajectories' start kinds: common/validation.ts stratifiedSamples) plus a share of every
//     generation's DFT picks, never more than validation.max_fraction of the DFT budget; labelled by the
//     same DFT oracle and held in the store's set "validation" (split=validation: never trained on);
//   - after every fit: the potential, the fit without the teacher's labels (while those are in play) and
//     the teacher itself scored on the whole set so far; the teacher's labels keep training only while
//     the fit with them beats the fit without (common/validation.ts teacherVerdict); every generation's
//     potential re-scored on the current set is the learning curve (validation/learning-curve.json).
import { ActivityFailure, patched } from '@temporalio/workflow';
import type { CurvePoint, ValidationDraw } from '../activities/evaluation/validation';
import type { Campaign } from '../common/campaign-schema';
import type { ErrorMetrics, EvaluationSummary, GenerationValidation, LearningCurve } from '../common/evaluation';
import { bestGeneration, teacherVerdict, validationRoom, validationShare, type Difference } from '../common/validation';
import { control, ml } from './activity-options';
import { aceRefit, type AceRefit } from './ace-refit';
import { labellingWorkflow } from './labelling';
import type { ChildRunner } from './progress';

export const VALIDATION_SET = 'validation';

/** What the campaign carries about its validation set and the teacher's gate (small: counts and paths). */
export interface ValidationState {
  /** DFT calls spent on validation structures, and how many were labelled. */
  requested: number;
  labelled: number;
  failed: number;
  /** Validation labels per pool/group. */
  byGroup: Record<string, number>;
  /** Whether the teacher's labels (and surrogates, fine-tuning) still train, since when and why. */
  teacher: { open: boolean; decidedAt?: number; reason: string };
  /** Every generation's chosen potential, for the learning curve. */
  points: { generation: number; dft_calls: number; dft_trained: number; potential: string; yace?: string; asi?: string }[];
  /** The latest learning curve: every generation's potential on the current set. */
  curve?: LearningCurve;
  /** The teacher's last score, on a set of this many labels (a teacher that stepped aside is not re-scored on the same set). */
  teacherScore?: { models: string; structures: number; summary: EvaluationSummary };
}

export const initialValidation = (): ValidationState => ({
  requested: 0,
  labelled: 0,
  failed: 0,
  byGroup: {},
  teacher: { open: true, reason: 'no validation score yet: the teacher\'s labels train at teacher.label_weight' },
  points: [],
});

/** Validation DFT calls still allowed. */
export const room = (c: Campaign, v: ValidationState) => validationRoom(c.validation.max_fraction, c.budgets.dft_total, v.requested);

/** DFT labels for drawn structures, held in the validation set. Returns the DFT calls spent. */
async function labelHeld(input: { runDir: string; campaign: Campaign; generation: number; childId: string; file: string; ids: string[]; groups: string[]; v: ValidationState; runChild: ChildRunner }): Promise<{ requested: number; labelled: number; failed: number }> {
  const { campaign: c, v } = input;
  const r = await input.runChild(labellingWorkflow, {
    workflowId: input.childId,
    args: [{ runDir: input.runDir, dft: c.dft, structureFile: input.file, ids: input.ids, minDistance: c.generation.min_distance, store: { source: 'validation', generation: input.generation } }],
  });
  const group = new Map(input.ids.map((id, i) => [id, input.groups[i]!]));
  // A drawn structure that is already training data (an MD start harvested as it was) stays out of the set.
  const added = r.labels.length
    ? await control.addMembers({
        runDir: input.runDir,
        set: VALIDATION_SET,
        generation: input.generation,
        members: r.labels.map((l) => ({ id: l.structureId, oracle: 'dft', settings_hash: l.labelKey, weight: 1, config_type: group.get(l.structureId) })),
        skipTrained: true,
      })
    : undefined;
  const skipped = new Set(added?.skipped ?? []); // absent in results recorded before skip_trained
  const held = r.labels.filter((l) => !skipped.has(l.structureId));
  v.requested += input.ids.length;
  v.labelled += held.length;
  v.failed += r.failed;
  for (const l of held) v.byGroup[group.get(l.structureId)!] = (v.byGroup[group.get(l.structureId)!] ?? 0) + 1;
  return { requested: input.ids.length, labelled: held.length, failed: r.failed };
}

/**
 * Random candidates of each pool into the validation set: the generation-0 pools are drawn from a batch
 * of the campaign's own generator (another seed: disjoint from the training candidates by construction);
 * MD pools from this generation's candidates, which then continue without the drawn ones (`rest`).
 */
export async function drawPools(input: {
  runDir: string;
  campaign: Campaign;
  generation: number;
  childId: string;
  v: ValidationState;
  /** MD candidates (pools by temperature); absent: generation-0 pools from the generator. */
  md?: { file: string };
  /** DFT calls the campaign has spent (validation never takes the rest of the budget beyond dft_total). */
  dftUsed: number;
  /** The campaign's child runner: its progress records close when the child returns (a resumed run reuses
   * the children its predecessor finished). */
  runChild: ChildRunner;
}): Promise<{ decision: string; draw?: ValidationDraw; requested: number; labelled: number; failed: number }> {
  const { runDir, campaign: c, generation: g, v } = input;
  const limit = Math.min(room(c, v), Math.max(0, c.budgets.dft_total - input.dftUsed));
  const none = { requested: 0, labelled: 0, failed: 0 };
  const what = input.md ? 'MD candidates by temperature' : 'generator modes';
  if (c.validation.per_pool === 0) return { decision: `validation: validation.per_pool is 0, no random ${what} drawn`, ...none };
  if (limit === 0) return { decision: `validation: the set is full (${v.requested} DFT calls, validation.max_fraction ${c.validation.max_fraction} of ${c.budgets.dft_total}) or the budget is spent: no ${what} drawn`, ...none };
  let file = input.md?.file;
  if (!file) {
    const made = await control.generateStructures({ runDir, name: `gen-${g}-validation-candidates`, system: c.system, generation: c.generation, count: 40 * c.validation.per_pool, seed: c.seed + 7919 });
    file = made.output;
  }
  // MD draws take turns over the trajectories' start kinds (bulk, sheared, vacancy) within each
  // temperature; runs recorded before drew by hash order alone.
  const stratify = input.md && patched('validation-start-kinds') ? { stratifyStarts: g } : {};
  const draw = await control.drawValidation({ runDir, name: `gen-${g}-${input.md ? 'md' : 'generated'}`, structureFile: file, poolBy: input.md ? 'temperature' : 'config_type', perPool: c.validation.per_pool, limit, seed: c.seed + g, ...stratify });
  if (!draw.ids.length) return { decision: `validation: no ${what} to draw from`, draw, ...none };
  const r = await labelHeld({ runDir, campaign: c, generation: g, childId: input.childId, file: draw.file!, ids: draw.ids, groups: draw.groups, v, runChild: input.runChild });
  const pools = [...new Set(draw.groups)].map((p) => `${draw.groups.filter((x) => x === p).length} ${p}`).join(', ');
  return { decision: `validation: ${r.labelled} of ${r.requested} random ${what} labelled for the validation set (${pools}; ${r.failed} failed)`, draw, ...r };
}

/** A share of this generation's DFT picks held out (already labelled: no extra DFT). Returns the labels that train. */
export async function holdOutPicks<L extends { structureId: string; labelKey: string }>(input: { runDir: string; campaign: Campaign; generation: number; labels: L[]; v: ValidationState }): Promise<{ train: L[]; held: number; decision?: string }> {
  const { campaign: c, v } = input;
  const want = validationShare(input.labels.map((l) => l.structureId), c.validation.share, c.seed + input.generation);
  const ids = new Set(want.slice(0, room(c, v)));
  if (!ids.size) return { train: input.labels, held: 0 };
  const chosen = input.labels.filter((l) => ids.has(l.structureId));
  // A pick that is already training data (teacher-labelled before, now labelled by DFT) keeps training.
  const r = await control.addMembers({ runDir: input.runDir, set: VALIDATION_SET, generation: input.generation, members: chosen.map((l) => ({ id: l.structureId, oracle: 'dft', settings_hash: l.labelKey, weight: 1, config_type: 'picked' })), skipTrained: true });
  const skipped = new Set(r.skipped ?? []); // absent in results recorded before skip_trained
  skipped.forEach((id) => ids.delete(id));
  const held = chosen.filter((l) => ids.has(l.structureId));
  v.requested += held.length;
  v.labelled += held.length;
  v.byGroup.picked = (v.byGroup.picked ?? 0) + held.length;
  const kept = skipped.size ? `; ${skipped.size} more chosen but kept for training, as they already were training data` : '';
  return { train: input.labels.filter((l) => !ids.has(l.structureId)), held: held.length, decision: `validation: ${held.length} of ${input.labels.length} DFT picks held out for the validation set (validation.share ${c.validation.share})${kept}` };
}

export interface ValidateInput {
  runDir: string;
  campaign: Campaign;
  /** The potential's generation and its fit (the main line: with the teacher's labels while they are in play). */
  generation: number;
  fit: AceRefit['fit'];
  previousPotential?: string;
  teacherModels: string[];
  /** Teacher-labelled members with a weight > 0 in the training data (new or replayed). */
  teacherInPlay: boolean;
  /** DFT labels the main fit trained on; DFT calls spent so far. */
  dftTrained: number;
  dftCalls: number;
  v: ValidationState;
}

export interface Validated {
  /** The potential the campaign goes on with (the main fit, or the fit without the teacher's labels). */
  fit: AceRefit['fit'];
  validation?: GenerationValidation;
  decisions: string[];
}

/** What the evaluator scores as the teacher: MACE files, CHGNet (its wheel's weights, or the fine-tuned file once
 * adopted) or SevenNet-0 (with the energy reference its bootstrap fitted). */
const teacherPotential = (c: Campaign, models: string[]) =>
  c.teacher.kind !== 'mace' ? (models[0] ? `${c.teacher.kind}:${models[0]}` : c.teacher.kind) : models.length ? models.join(',') : undefined;

/** Score the generation's potential (and the fit without the teacher, and the teacher) on the validation set; gate the teacher. */
export async function validateGeneration(input: ValidateInput): Promise<Validated> {
  const { runDir, campaign: c, generation: g, v } = input;
  const decisions: string[] = [];
  let variant: AceRefit | undefined;
  const compare = v.teacher.open && input.teacherInPlay && v.labelled > 0;
  if (compare && input.dftTrained === 0) decisions.push('teacher gate: no DFT labels in the training data yet, so no fit without the teacher\'s labels to compare with');
  else if (compare) {
    try {
      variant = await aceRefit({ runDir, campaign: c, generation: g, previousPotential: input.previousPotential, oracles: ['dft'], variant: 'dft-only' });
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      decisions.push(`teacher gate: the fit without the teacher's labels failed (${err.cause instanceof Error ? err.cause.message.split('\n')[0]!.slice(0, 200) : err.message})`);
    }
  }
  const teacher = teacherPotential(c, input.teacherModels);
  const potentials: Record<string, string> = { potential: input.fit.potentialYaml };
  if (variant) potentials.dft_only = variant.fit.potentialYaml;
  // A teacher that stepped aside no longer changes: re-scored only once the set has grown.
  const lastTeacher = v.teacherScore && !v.teacher.open && v.teacherScore.models === teacher && v.teacherScore.structures === v.labelled ? v.teacherScore.summary : undefined;
  if (teacher && !lastTeacher) potentials.teacher = teacher;
  const s = await ml.scoreValidation({ runDir, name: `gen-${g}`, potentials, parityGeneration: g });
  if (s.structures === 0) {
    decisions.push('validation: the set is still empty, nothing scored');
    return { fit: input.fit, decisions };
  }
  for (const [name, why] of Object.entries(s.failed)) decisions.push(`validation: ${name} could not be scored (${why})`);
  let fit = input.fit;
  let variants: GenerationValidation['variants'];
  const main = s.scores.potential;
  const alt = s.scores.dft_only;
  if (main && alt) {
    const verdict = teacherVerdict(main.overall, alt.overall, s.structures);
    variants = { with_teacher: main.overall, dft_only: alt.overall, chosen: verdict.helps ? 'with_teacher' : 'dft_only' };
    if (!verdict.helps) {
      fit = variant!.fit;
      v.teacher = { open: false, decidedAt: g, reason: verdict.reason };
    } else v.teacher = { open: true, decidedAt: g, reason: verdict.reason };
    decisions.push(`teacher gate (generation ${g}): ${verdict.reason}`);
  }
  const chosen = variants?.chosen === 'dft_only' ? alt : main;
  if (!chosen) return { fit, decisions };
  const validation: GenerationValidation = {
    dft_calls: input.dftCalls,
    dft_trained: input.dftTrained,
    structures: s.structures,
    potential: chosen,
    teacher: s.scores.teacher ?? lastTeacher,
    variants,
  };
  if (s.scores.teacher && teacher) v.teacherScore = { models: teacher, structures: v.labelled, summary: s.scores.teacher };
  const o = chosen.overall;
  decisions.push(
    `validation (${s.structures} structures): generation-${g} potential ${o.forces_rmse_mev_a.toFixed(1)} meV/Å, ${o.energy_rmse_mev_atom_offset.toFixed(2)} meV/atom` +
      (validation.teacher ? `; teacher ${validation.teacher.overall.forces_rmse_mev_a.toFixed(1)} meV/Å, ${validation.teacher.overall.energy_rmse_mev_atom_offset.toFixed(2)} meV/atom` : ''),
  );
  // The learning curve: every generation's potential on this same set. The current one was just scored;
  // earlier ones keep their scores while the set has not grown, and are re-scored once it has.
  v.points = [...v.points.filter((p) => p.generation !== g), { generation: g, dft_calls: input.dftCalls, dft_trained: input.dftTrained, potential: fit.potentialYaml, yace: fit.yace, asi: fit.asi }];
  const same = v.curve?.structures === s.structures ? new Map(v.curve.points.map((p) => [p.generation, p])) : new Map<number, LearningCurve['points'][number]>();
  const curve: CurvePoint[] = v.points.map((p) => {
    if (p.generation === g) return { ...p, overall: chosen.overall, by_group: chosen.by_group, per_structure: s.perStructure?.[chosen === alt ? 'dft_only' : 'potential'] };
    const known = same.get(p.generation);
    return known?.potential === p.potential ? { ...p, overall: known.overall, by_group: known.by_group, per_structure: known.per_structure } : p;
  });
  try {
    const lc = await ml.scoreValidation({ runDir, name: `gen-${g}-curve`, potentials: {}, structures: s.structures, curve });
    v.curve = lc.curve;
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    decisions.push(`validation: the learning curve could not be re-scored (${err.message})`);
  }
  return { fit, validation, decisions };
}

/**
 * The potential to go on from after generation `latest` was scored: an earlier generation's when it scores
 * clearly better on the same (current) validation set (common/validation.ts bestGeneration: pair by pair
 * with `paired`, by the fixed margin in histories recorded before), with the decision that says so. When
 * the latest is kept although an earlier generation scored lower (in one, and not higher in the other),
 * compared pair by pair: only the decision, saying why (the intervals include no difference). Neither:
 * an empty result, go on with the latest.
 */
export function bestPotential(v: ValidationState, latest: number, paired = false): { earlier?: { generation: number; yaml: string; yace: string; asi?: string }; decision?: string } {
  const points = v.curve?.points ?? [];
  const best = bestGeneration(points, latest, { paired });
  const last = points.find((p) => p.generation === latest);
  const f = (o: ErrorMetrics) => `${o.forces_rmse_mev_a.toFixed(1)} meV/Å, ${o.energy_rmse_mev_atom_offset.toFixed(2)} meV/atom`;
  const interval = (x: Difference, k: number) => `${x.lo.toFixed(k)} to ${x.hi.toFixed(k)}`;
  if (best.generation !== latest) {
    const fit = v.points.find((p) => p.generation === best.generation);
    if (!fit?.yace) return {}; // a point recorded before the fits' files were kept: go on with the latest
    const b = points.find((p) => p.generation === best.generation)!.overall;
    const d = best.paired[best.generation];
    const ci = (x: Difference, unit: string, k: number) => `${x.diff >= 0 ? '+' : ''}${x.diff.toFixed(k)} ${unit} (95 % interval ${interval(x, k)})`;
    const how = d ? `; pair by pair on ${d.n} structures, generation ${best.generation} minus ${latest}: forces ${ci(d.forces, 'meV/Å', 1)}, energy ${ci(d.energy, 'meV/atom', 2)}` : '';
    return {
      earlier: { generation: best.generation, yaml: fit.potential, yace: fit.yace, asi: fit.asi },
      decision: `best potential: generation ${latest} scored worse on the ${v.curve!.structures} validation structures (${f(last!.overall)}) than generation ${best.generation} (${f(b)}${how}): exploration, the next refit and the hand-over go on from generation ${best.generation}`,
    };
  }
  if (!paired || !last) return {};
  const [lf, le] = [last.overall.forces_rmse_mev_a, last.overall.energy_rmse_mev_atom_offset];
  const lower = points
    .filter((p) => {
      const [pf, pe] = [p.overall.forces_rmse_mev_a, p.overall.energy_rmse_mev_atom_offset];
      return p.generation !== latest && best.paired[p.generation] && pf <= lf && pe <= le && (pf < lf || pe < le);
    })
    .sort((a, b) => best.score[a.generation]! - best.score[b.generation]!)[0];
  if (!lower) return {};
  const d = best.paired[lower.generation]!;
  return {
    decision: `best potential: generation ${lower.generation} scored lower than ${latest} on the ${v.curve!.structures} validation structures (${lower.overall.forces_rmse_mev_a.toFixed(1)} against ${lf.toFixed(1)} meV/Å, ${lower.overall.energy_rmse_mev_atom_offset.toFixed(2)} against ${le.toFixed(2)} meV/atom), not clearly: pair by pair on ${d.n} structures the 95 % intervals of the difference are ${interval(d.forces, 1)} meV/Å and ${interval(d.energy, 2)} meV/atom: going on with generation ${latest}`,
  };
}

/** The report's lines: the validation set, the teacher's gate, the learning curve on the final set. */
export function curveLines(state: { validation: ValidationState }): string[] {
  const v = state.validation;
  const out = [`Validation set: ${v.labelled} DFT labels never trained on (${Object.entries(v.byGroup).map(([k, n]) => `${n} ${k}`).join(', ') || 'none'}). Teacher: ${v.teacher.open ? 'its labels train' : 'stepped aside'}: ${v.teacher.reason}.`];
  if (!v.curve?.points.length) return out;
  out.push('', `Learning curve (every generation's potential on the same ${v.curve.structures} validation structures; validation/learning-curve.json):`, '');
  out.push('| generation | DFT calls | DFT trained on | force RMSE (meV/Å) | energy RMSE after offset (meV/atom) |', '| --: | --: | --: | --: | --: |');
  for (const p of v.curve.points) out.push(`| ${p.generation} | ${p.dft_calls} | ${p.dft_trained} | ${p.overall.forces_rmse_mev_a.toFixed(1)} | ${p.overall.energy_rmse_mev_atom_offset.toFixed(2)} |`);
  return out;
}

// Phase 4, incremental fine-tuning: the teacher's fine-tune on the new DFT labels (teacherFinetuneWorkflow,
// the workflow the teacher tests run: replay of earlier DFT, adoption only if it fits every DFT label so
// far, surrogates from a validated committee), then the incremental ACE refit on the new DFT labels and
// surrogates plus a replay of the history. The teacher step is optional: whatever happens to it, the
// refit runs and the decision is recorded.
import { ChildWorkflowFailure, executeChild, workflowInfo } from '@temporalio/workflow';
import { setCurrentDetails } from './progress';
import type { MemberInput } from '../activities/store/store';
import type { Campaign } from '../common/campaign-schema';
import { aceRefit, type AceRefit } from './ace-refit';
import { failureText, isEnergyReference, teacherFinetuneWorkflow, type DftLabelRefLite, type TeacherFinetuneResult } from './teacher';

export interface FinetuneInput {
  runDir: string;
  campaign: Campaign;
  generation: number;
  teacherModels: string[];
  /** This generation's new DFT labels and where their structures are (may be none) ... */
  newDft: { structureFile: string; labels: (DftLabelRefLite & { index: number })[] };
  /** ... and the MD candidates the teacher labelled confidently (a members file), weight teacher.label_weight. */
  teacherLabelled?: string;
  previousPotential: string;
  /** The validation set's verdict (workflows/validation.ts): a teacher that stepped aside is not fine-tuned and its labels do not train. */
  teacherGate?: { open: boolean; reason: string };
}

export interface TeacherStep {
  models: string[];
  adopted: boolean;
  decision: string;
  before?: { rmse_energy_mev_atom: number; rmse_forces_mev_a: number };
  after?: { rmse_energy_mev_atom: number; rmse_forces_mev_a: number };
  dftLabels: number;
  trainedOn?: { new: number; replayed: number };
  surrogates: number;
  note?: string;
}

export interface FinetuneResult {
  teacher: TeacherStep;
  training: AceRefit['counts'];
  fit: AceRefit['fit'];
}

const rmse = (s: { rmse_energy_mev_atom: number; rmse_forces_mev_a: number } | null) =>
  s ? { rmse_energy_mev_atom: s.rmse_energy_mev_atom, rmse_forces_mev_a: s.rmse_forces_mev_a } : undefined;

async function teacherStep(input: FinetuneInput): Promise<{ step: TeacherStep; members: MemberInput[] }> {
  const { campaign: c, generation: g } = input;
  const dftMembers = input.newDft.labels.map((l) => ({ id: l.structureId, oracle: 'dft', settings_hash: l.labelKey, weight: 1, config_type: 'dft' }));
  const keep = (decision: string) => ({ step: { models: input.teacherModels, adopted: false, decision, dftLabels: input.newDft.labels.length, surrogates: 0 }, members: dftMembers });
  if (input.teacherGate && !input.teacherGate.open) return keep(`the teacher stepped aside (${input.teacherGate.reason}): not fine-tuned, no surrogates`);
  if (input.newDft.labels.length === 0) return keep('no new DFT labels: the committee is not fine-tuned');
  if (c.teacher.finetune.max_epochs === 0) return keep(`teacher.finetune.max_epochs is 0: ${c.teacher.kind === 'mace' ? 'the committee' : 'the teacher'} is not fine-tuned, no surrogates`);
  // A campaign begun before SevenNet-0 could be fine-tuned keeps its zero-shot teacher (an energy reference file).
  if (c.teacher.kind === 'sevennet' && isEnergyReference(input.teacherModels[0])) return keep('SevenNet-0 stays zero-shot (its energy reference only): not fine-tuned, no surrogates');
  setCurrentDetails(`teacher fine-tune on ${input.newDft.labels.length} new DFT labels`);
  let r: TeacherFinetuneResult;
  try {
    r = await executeChild(teacherFinetuneWorkflow, {
      workflowId: `${workflowInfo().workflowId}/teacher`,
      args: [{
        runDir: input.runDir,
        generation: g + 1,
        teacher: c.teacher,
        models: input.teacherModels,
        dftLabels: input.newDft.labels.map((l) => ({ structureId: l.structureId, labelKey: l.labelKey })),
        structureFile: input.newDft.structureFile,
        indices: input.newDft.labels.map((l) => l.index),
        seed: c.seed + 17 * (g + 1),
        minDistance: c.generation.min_distance,
      }],
    });
  } catch (err) {
    if (!(err instanceof ChildWorkflowFailure)) throw err;
    return keep(`kept the committee: the teacher fine-tune failed (${failureText(err)})`);
  }
  return {
    step: {
      models: r.models,
      adopted: r.adopted,
      decision: r.decision,
      before: rmse(r.allBefore),
      after: rmse(r.allAfter),
      dftLabels: r.allBefore?.n ?? input.newDft.labels.length,
      trainedOn: r.trainedOn,
      surrogates: r.surrogates.kept,
      note: r.surrogates.note ?? undefined,
    },
    members: r.members,
  };
}

export async function finetuneWorkflow(input: FinetuneInput): Promise<FinetuneResult> {
  const g = input.generation;
  const { step, members } = await teacherStep(input);
  setCurrentDetails('incremental ACE refit');
  const ace = await aceRefit({
    runDir: input.runDir,
    campaign: input.campaign,
    generation: g + 1,
    members,
    membersFile: input.teacherLabelled ? { file: input.teacherLabelled, weight: input.campaign.teacher.label_weight } : undefined,
    previousPotential: input.previousPotential,
    oracles: input.teacherGate && !input.teacherGate.open ? ['dft'] : undefined,
  });
  return { teacher: step, training: ace.counts, fit: ace.fit };
}

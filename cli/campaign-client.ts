// The client side of a running campaign, shared by the campaign commands and the demo: the handle of a
// campaign by id (with an error that says where it looked), the status as text, starting a campaign.
import type { Client, WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { TaskQueues } from '../common/queues';
import { CampaignIdKey, SystemKey } from '../common/search-attributes';
import { connectClient } from '../host/connections';
import { temporalSettings } from '../host/temporal-config';
import type { campaignWorkflow } from '../workflows/campaign';
import type { CampaignStatus } from '../workflows/campaign-api';
import type { Campaign } from '../common/campaign-schema';
import { InputError } from './errors';

export type CampaignHandle = WorkflowHandle<typeof campaignWorkflow>;

export async function client(): Promise<Client> {
  return connectClient(temporalSettings());
}

/** The campaign's handle and description; a missing id or another workflow type is an InputError. */
export async function campaignHandle(c: Client, id: string): Promise<CampaignHandle & { description: WorkflowExecutionDescription }> {
  const h = c.workflow.getHandle<typeof campaignWorkflow>(id);
  let description: WorkflowExecutionDescription;
  try {
    description = await h.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || (err as { code?: unknown }).code === 5) {
      throw new InputError(`no campaign with id "${id}" on ${temporalSettings().address} (see \`autopipe list\`)`);
    }
    throw err;
  }
  if (description.type !== 'campaignWorkflow') {
    throw new InputError(`"${id}" is a ${description.type} workflow, not a campaign (see \`autopipe list\` for campaigns)`);
  }
  return Object.assign(h, { description });
}

/** How a closed campaign ended: its outcome, or the failure's innermost message. */
export async function closedOutcome(h: CampaignHandle): Promise<string> {
  try {
    const r = await h.result();
    return `stopped: ${r.stopReason}; report ${r.report}`;
  } catch (err) {
    let e: unknown = err;
    while (e && typeof e === 'object' && (e as { cause?: unknown }).cause) e = (e as { cause?: unknown }).cause;
    const type = (e as { type?: string }).type;
    return `failed: ${type ? `${type}: ` : ''}${(e as Error).message ?? String(e)}`;
  }
}

export async function startCampaignWorkflow(c: Client, id: string, raw: Record<string, unknown>, campaign: Campaign, summary: string, taskQueue: string = TaskQueues.control): Promise<CampaignHandle> {
  return c.workflow.start<typeof campaignWorkflow>('campaignWorkflow', {
    taskQueue,
    workflowId: id,
    args: [raw as Parameters<typeof campaignWorkflow>[0]],
    typedSearchAttributes: [
      { key: CampaignIdKey, value: id },
      { key: SystemKey, value: campaign.system.name },
    ],
    staticSummary: summary,
  });
}

export function formatStatus(s: CampaignStatus): string {
  const lines = [
    `campaign ${s.campaignId} (${s.system})  phase ${s.phase}  generation ${s.generation}${s.paused ? '  PAUSED' : ''}${s.stopAfterGeneration ? '  stopping after this generation' : ''}`,
    s.current ? `  now: ${s.current}` : '',
    `  DFT: ${s.dft.used}/${s.dft.budget} used (${s.dft.labelled} labelled, ${s.dft.healed} healed, ${s.dft.failed} failed)`,
    `  structures by source: ${JSON.stringify(s.structures.bySource)}  by oracle: ${JSON.stringify(s.structures.byOracle)}`,
    `  teacher: ${s.teacher.models} model(s), uncertainty from ${s.teacher.uncertainty === 'committee' ? 'the committee' : 'the ACE extrapolation grade (single model: no committee)'}`,
    ...s.metrics.map(
      (m) =>
        `  gen ${m.generation}: test RMSE ${m.test_rmse_energy_mev_atom?.toFixed(2) ?? 'n/a'} meV/atom, ${m.test_rmse_forces_mev_a?.toFixed(1) ?? 'n/a'} meV/Å` +
        (m.explored ? `; MD: ${m.explored.candidates} candidates, ${m.explored.halted} halted, max gamma ${m.explored.gamma_max.toFixed(2)}` : '') +
        (m.dft ? `; DFT ${m.dft.labelled}/${m.dft.requested}` : '') +
        (m.validation ? `; validation (${m.validation.structures}): ${m.validation.potential.overall.forces_rmse_mev_a.toFixed(1)} meV/Å, ${m.validation.potential.overall.energy_rmse_mev_atom_offset.toFixed(2)} meV/atom` : ''),
    ),
    ...validationLines(s),
    s.potential ? `  potential (gen ${s.potential.generation}): ${s.potential.yace}` : '',
    s.stopReason ? `  stopped: ${s.stopReason}` : '',
    `  run directory: ${s.runDir}`,
  ];
  return lines.filter(Boolean).join('\n');
}

/** The validation set, the teacher's gate and the learning curve (every generation on the current set). */
function validationLines(s: CampaignStatus): string[] {
  const v = s.validation;
  if (!v) return [];
  const groups = Object.entries(v.byGroup).map(([k, n]) => `${n} ${k}`).join(', ');
  const out = [
    `  validation set: ${v.labelled} DFT labels never trained on (${groups || 'none yet'}; ${v.requested} DFT calls, ${v.failed} failed)`,
    `  teacher: ${v.teacher.open ? 'its labels train' : 'stepped aside'}${v.teacher.decidedAt !== undefined ? ` (generation ${v.teacher.decidedAt})` : ''}: ${v.teacher.reason}`,
  ];
  const withTeacher = s.metrics.filter((m) => m.validation?.teacher);
  if (v.curve?.points.length) {
    out.push(`  learning curve on the ${v.curve.structures} validation structures (forces meV/Å, energy meV/atom after the offset):`);
    out.push('    gen  DFT calls  DFT trained  F RMSE  E RMSE  teacher F');
    for (const p of v.curve.points) {
      const t = withTeacher.find((m) => m.generation === p.generation)?.validation?.teacher?.overall.forces_rmse_mev_a;
      out.push(`    ${String(p.generation).padStart(3)}  ${String(p.dft_calls).padStart(9)}  ${String(p.dft_trained).padStart(11)}  ${p.overall.forces_rmse_mev_a.toFixed(1).padStart(6)}  ${p.overall.energy_rmse_mev_atom_offset.toFixed(2).padStart(6)}  ${t === undefined ? '-' : t.toFixed(1).padStart(9)}`);
    }
  }
  return out;
}

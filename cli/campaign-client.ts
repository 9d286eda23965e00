// The client side of a running campaign, shared by the campaign commands and the demo: the handle of a
// campaign by id (with an error that says where it looked), the status as text, starting a campaign.
import type { Client, WorkflowHandle } from '@temporalio/client';
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

export async function campaignHandle(c: Client, id: string): Promise<CampaignHandle> {
  const h = c.workflow.getHandle<typeof campaignWorkflow>(id);
  try {
    await h.describe();
  } catch {
    throw new InputError(`no campaign with id "${id}" on ${temporalSettings().address} (see \`autopipe list\`)`);
  }
  return h;
}

export async function startCampaignWorkflow(c: Client, id: string, raw: Record<string, unknown>, campaign: Campaign, summary: string): Promise<CampaignHandle> {
  return c.workflow.start<typeof campaignWorkflow>('campaignWorkflow', {
    taskQueue: TaskQueues.control,
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
        (m.dft ? `; DFT ${m.dft.labelled}/${m.dft.requested}` : ''),
    ),
    s.potential ? `  potential (gen ${s.potential.generation}): ${s.potential.yace}` : '',
    s.stopReason ? `  stopped: ${s.stopReason}` : '',
    `  run directory: ${s.runDir}`,
  ];
  return lines.filter(Boolean).join('\n');
}

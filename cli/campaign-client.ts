// The client side of a running campaign, shared by the campaign commands and the demo: the handle of a
// campaign by id (with an error that says where it looked), the status as text, starting a campaign.
import type { Client, WorkflowHandle } from '@temporalio/client';
import { TaskQueues } from '../common/queues';
import { CampaignIdKey, SystemKey } from '../common/search-attributes';
import { connectClient } from '../host/connections';
import { temporalSettings } from '../host/temporal-config';
import type { campaignWorkflow } from '../workflows/campaign';
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

/** A client when a server answers (a 2 s check), else undefined: report and history work from files too. */
export async function optionalClient(): Promise<Client | undefined> {
  const s = temporalSettings();
  const { serverStatus } = await import('../host/server');
  if (!(await serverStatus(s)).up) return undefined;
  return connectClient(s).catch(() => undefined);
}

export { formatStatus } from './campaigns/format';

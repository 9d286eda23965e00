// The client side of a running campaign, shared by the campaign commands and the demo: the handle of a
// campaign by id (with an error that says where it looked), the status as text, starting a campaign.
import type { Client, WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
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

/** A client when a server answers (a 2 s check), else undefined: report and history work from files too. */
export async function optionalClient(): Promise<Client | undefined> {
  const s = temporalSettings();
  const { serverStatus } = await import('../host/server');
  if (!(await serverStatus(s)).up) return undefined;
  return connectClient(s).catch(() => undefined);
}

export { formatStatus } from './campaigns/format';

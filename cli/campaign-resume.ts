// `autopipe resume ID [--config FIXED.yaml]` as a library function: a running campaign is unpaused (the
// resume signal); a failed, terminated, timed-out or cancelled one (or a completed one, to extend it with
// a larger budget) is started again under the same id with `"resume": true`, so it continues from its
// last finished phase and reuses everything done (workflows/resume.ts). The Temporal UI does the same
// with "Start Workflow Like This One" plus `"resume": true` in the input (docs/durability.md).
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { TaskQueues } from '../common/queues';
import { CampaignIdKey, SystemKey } from '../common/search-attributes';
import type { campaignWorkflow } from '../workflows/campaign';
import { resumeSignal } from '../workflows/campaign-api';
import { InputError } from './errors';

export interface ResumeOptions {
  /** The fixed campaign (the file as loaded, plain JSON); default: the input of the run being continued. */
  raw?: Record<string, unknown>;
  /** The system name for the search attribute (from the loaded file). */
  system?: string;
}

export type ResumeOutcome =
  | { action: 'unpaused'; campaignId: string; runId: string }
  | { action: 'restarted'; campaignId: string; runId: string; fromRunId: string; fromStatus: string; reconfigured: boolean };

export async function resumeCampaign(client: Client, campaignId: string, opts: ResumeOptions = {}): Promise<ResumeOutcome> {
  const latest = client.workflow.getHandle<typeof campaignWorkflow>(campaignId);
  let d;
  try {
    d = await latest.describe();
  } catch {
    throw new InputError(`no campaign with id "${campaignId}" (see \`autopipe list\`)`);
  }
  if (d.type !== 'campaignWorkflow') throw new InputError(`"${campaignId}" is a ${d.type}, not a campaign`);
  if (d.status.name === 'RUNNING') {
    if (opts.raw) throw new InputError(`campaign "${campaignId}" is running: --config applies to a campaign that failed or ended (change a running one with \`autopipe tune\`)`);
    await latest.signal(resumeSignal);
    return { action: 'unpaused', campaignId, runId: d.runId };
  }
  let raw = opts.raw;
  let system = opts.system;
  if (!raw) {
    // The run's own input: the campaign keys (a continued run carries its state as a second argument).
    const history = await latest.fetchHistory();
    const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    raw = payload ? (defaultPayloadConverter.fromPayload(payload as never) as Record<string, unknown>) : undefined;
    if (!raw || typeof raw !== 'object') throw new InputError(`cannot read the campaign input of ${campaignId}'s last run: give --config FILE`);
    system = (raw.system as { name?: string } | undefined)?.name;
  }
  const { resume: _old, ...campaign } = raw;
  const h = await client.workflow.start<typeof campaignWorkflow>('campaignWorkflow', {
    taskQueue: TaskQueues.control,
    workflowId: campaignId,
    args: [{ ...campaign, id: campaignId, resume: { from_run_id: d.runId } }],
    typedSearchAttributes: [
      { key: CampaignIdKey, value: campaignId },
      ...(system ? [{ key: SystemKey, value: system }] : []),
    ],
    staticSummary: `Campaign ${campaignId}: resumed from run ${d.runId} (${d.status.name.toLowerCase()})`,
  });
  return { action: 'restarted', campaignId, runId: h.firstExecutionRunId, fromRunId: d.runId, fromStatus: d.status.name, reconfigured: opts.raw !== undefined };
}

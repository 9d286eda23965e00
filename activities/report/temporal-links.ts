// Links into the Temporal UI for a campaign's DFT activities: every pw.x activity carries the summary
// "DFT <structure id>", so the labelling workflows' histories map each structure to the event that
// scheduled its activity (<ui>/workflows/<id>/<run>/history/events/<event id> opens exactly that one).
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { TemporalSettings } from '../../host/temporal-config';

/** The UI's page of a namespace, or undefined for an external service (its UI address is unknown). */
export function uiNamespaceBase(s: TemporalSettings): string | undefined {
  if (s.external) return process.env.AUTOPIPE_TEMPORAL_UI_URL ? `${process.env.AUTOPIPE_TEMPORAL_UI_URL.replace(/\/$/, '')}/namespaces/${s.namespace}` : undefined;
  return `http://127.0.0.1:${s.uiPort}/namespaces/${s.namespace}`;
}

export const workflowLink = (ui: string, workflowId: string, runId?: string) => `${ui}/workflows/${encodeURIComponent(workflowId)}${runId ? `/${runId}/history` : ''}`;

export interface ActivityEvent {
  workflowId: string;
  runId: string;
  eventId: string;
  activityId: string;
  activityType: string;
  summary?: string;
  link: string;
}

/** Every scheduled activity of one workflow run (the latest run when runId is not given). */
export async function scheduledActivities(client: Client, ui: string, workflowId: string, runId?: string): Promise<ActivityEvent[]> {
  const h = client.workflow.getHandle(workflowId, runId);
  const rid = runId ?? (await h.describe()).runId;
  const history = await client.workflow.getHandle(workflowId, rid).fetchHistory();
  const out: ActivityEvent[] = [];
  for (const e of history.events ?? []) {
    const a = e.activityTaskScheduledEventAttributes;
    if (!a) continue;
    let summary: string | undefined;
    const p = e.userMetadata?.summary;
    if (p) {
      try {
        summary = String(defaultPayloadConverter.fromPayload(p as Parameters<typeof defaultPayloadConverter.fromPayload>[0]));
      } catch {
        summary = undefined;
      }
    }
    const eventId = String(e.eventId);
    out.push({ workflowId, runId: rid, eventId, activityId: a.activityId ?? '', activityType: a.activityType?.name ?? '', summary, link: `${workflowLink(ui, workflowId, rid)}/events/${eventId}` });
  }
  return out;
}

/** structure id -> link to its DFT activity, over every labelling workflow of the campaign. */
export async function dftActivityLinks(client: Client, ui: string, campaignId: string): Promise<Map<string, ActivityEvent>> {
  const links = new Map<string, ActivityEvent>();
  const query = `WorkflowType = 'labellingWorkflow' AND WorkflowId STARTS_WITH '${campaignId.replace(/'/g, "\\'")}/'`;
  for await (const w of client.workflow.list({ query })) {
    for (const ev of await scheduledActivities(client, ui, w.workflowId, w.runId)) {
      const m = ev.summary?.match(/^DFT (\S+)/);
      if (m) links.set(m[1]!, ev);
    }
  }
  return links;
}

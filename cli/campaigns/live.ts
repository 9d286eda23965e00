// A campaign as a user sees it now: the workflow's status query (phase, counts, the running child's step
// and DFT counters) plus the heartbeats of the activities its running children have in flight (SCF
// iteration, epoch, fit iteration and loss, MD step and gamma), read with DescribeWorkflowExecution.
// Heartbeats are read, never written into the campaign's history, so watching costs the campaign nothing.
import type { Client, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { runLayout } from '../../common/run-layout';
import { defaultRunsDir } from '../../host/paths';
import { readJsonIfExists } from '../../activities/runtime/files';
import { statusQuery, type CampaignStatus } from '../../workflows/campaign-api';

export interface LiveActivity {
  /** The workflow that scheduled it (a phase child or grandchild of the campaign). */
  workflowId: string;
  activityId: string;
  type: string;
  state: 'scheduled' | 'started' | 'cancel-requested' | 'paused' | 'unknown';
  attempt: number;
  startedAt?: string;
  lastHeartbeatAt?: string;
  details?: Record<string, unknown>;
  lastFailure?: string;
}

export interface CampaignView {
  id: string;
  /** RUNNING, COMPLETED, FAILED, TERMINATED, ... or NOT_FOUND (then the run directory's record speaks). */
  workflowStatus: string;
  status?: CampaignStatus;
  /** Where status came from: the workflow's query, or the run directory's report/status.json. */
  statusSource?: 'query' | 'run-directory';
  children: { workflowId: string; type: string }[];
  activities: LiveActivity[];
  at: string;
}

type Ts = { seconds?: number | { toNumber(): number } | null; nanos?: number | null } | null | undefined;
function isoOf(t: Ts): string | undefined {
  if (!t || t.seconds === undefined || t.seconds === null) return undefined;
  const s = typeof t.seconds === 'number' ? t.seconds : t.seconds.toNumber();
  return new Date(s * 1000 + Math.round((t.nanos ?? 0) / 1e6)).toISOString();
}

const STATES: Record<number, LiveActivity['state']> = { 1: 'scheduled', 2: 'started', 3: 'cancel-requested', 4: 'paused', 5: 'paused' };

type Payload = Parameters<typeof defaultPayloadConverter.fromPayload>[0];
function decode(payloads: Payload[] | null | undefined): Record<string, unknown> | undefined {
  const p = payloads?.[0];
  if (!p) return undefined;
  try {
    const v = defaultPayloadConverter.fromPayload(p);
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : { value: v };
  } catch {
    return undefined;
  }
}

/** Pending activities of a workflow and of its pending children, depth first (at most `depth` levels). */
async function pendingBelow(client: Client, workflowId: string, depth: number, out: CampaignView): Promise<void> {
  const d = await client.workflow.getHandle(workflowId).describe();
  for (const a of d.raw.pendingActivities ?? []) {
    out.activities.push({
      workflowId,
      activityId: a.activityId ?? '',
      type: a.activityType?.name ?? '?',
      state: STATES[Number(a.state)] ?? 'unknown',
      attempt: a.attempt ?? 1,
      startedAt: isoOf(a.lastStartedTime as Ts),
      lastHeartbeatAt: isoOf(a.lastHeartbeatTime as Ts),
      details: decode(a.heartbeatDetails?.payloads as Payload[] | undefined),
      lastFailure: a.lastFailure?.message ?? undefined,
    });
  }
  if (depth <= 0) return;
  for (const c of d.raw.pendingChildren ?? []) {
    if (!c.workflowId) continue;
    out.children.push({ workflowId: c.workflowId, type: c.workflowTypeName ?? '?' });
    await pendingBelow(client, c.workflowId, depth - 1, out).catch(() => undefined); // closed meanwhile
  }
}

/** The recorded status of a campaign whose workflow no longer answers queries (finished, or no worker). */
export function recordedStatus(runDir: string): CampaignStatus | undefined {
  return readJsonIfExists<CampaignStatus>(path.join(runLayout(runDir).reportDir, 'status.json'));
}

/** A campaign id's run directory when the workflow cannot say: a directory given as is, or runs/<id>. */
export function runDirFor(idOrDir: string): string | undefined {
  for (const d of [idOrDir, path.join(defaultRunsDir, idOrDir)]) if (existsSync(runLayout(path.resolve(d)).campaignResolved)) return path.resolve(d);
  return undefined;
}

/** Query with a deadline: a closed campaign's query needs a control worker, and none may be running. */
export async function queryStatus(client: Client, h: WorkflowHandle, ms = 8000): Promise<CampaignStatus> {
  return client.withDeadline(Date.now() + ms, () => h.query(statusQuery));
}

export async function readCampaignView(client: Client, id: string): Promise<CampaignView> {
  const view: CampaignView = { id, workflowStatus: 'NOT_FOUND', children: [], activities: [], at: new Date().toISOString() };
  const h = client.workflow.getHandle(id);
  let running = false;
  try {
    const d = await h.describe();
    view.workflowStatus = d.status.name;
    running = d.status.name === 'RUNNING';
  } catch {
    return view;
  }
  if (running) {
    view.status = await queryStatus(client, h).catch(() => undefined);
    if (view.status) view.statusSource = 'query';
    await pendingBelow(client, id, 3, view).catch(() => undefined);
  }
  if (!view.status) {
    const dir = runDirFor(id) ?? (await h.result().then((r) => (r as { runDir?: string }).runDir).catch(() => undefined));
    view.status = dir ? recordedStatus(dir) : undefined;
    if (view.status) view.statusSource = 'run-directory';
  }
  return view;
}

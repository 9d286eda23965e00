// Where a campaign started with `resume` continues (control queue): read the history of its previous run
// (the latest closed run of the same workflow id, or the one named) and return the state that run's
// generation started from and the results of the phases (child workflows) it finished. The campaign then
// runs that generation again, skipping the finished phases; everything inside the unfinished ones is
// reused by the activities themselves (DFT labels, trainings and fits are idempotent by their inputs).
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { connectClient } from '../../host/connections';
import { temporalSettings } from '../../host/temporal-config';
import { NonRetryableErrors } from '../../common/errors';
import { currentActivity } from '../runtime/context';

export interface ResumePointInput {
  campaignId: string;
  /** This run, which is never its own resume point. */
  currentRunId: string;
  /** Continue this run; default: the latest closed run of the campaign id. */
  fromRunId?: string;
}

export interface ResumePoint {
  /** The run continued from; absent: there was none (a fresh start). */
  fromRunId?: string;
  status?: string;
  /** The state its generation started from (continue-as-new input); absent: generation 0's first run. */
  state?: unknown;
  /** Results of the phases it finished, by child workflow id. */
  phases: Record<string, unknown>;
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payloads = temporal.api.common.v1.IPayloads | null | undefined;

const decode = (p: Payloads): unknown[] => (p?.payloads ?? []).map((x) => defaultPayloadConverter.fromPayload(x as never));

/** The resume point recorded in a history: the run's own input state and the children it finished. */
export function resumePointOf(events: HistoryEvent[]): Omit<ResumePoint, 'fromRunId' | 'status'> {
  const started = events[0]?.workflowExecutionStartedEventAttributes;
  const [, carried] = decode(started?.input);
  let state: unknown = carried;
  const phases: Record<string, unknown> = {};
  // A run that was itself a resume took its state and finished phases from its own resume point.
  const lookup = new Set<string>();
  for (const e of events) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name === 'findResumePoint') lookup.add(String(e.eventId));
    const done = e.activityTaskCompletedEventAttributes;
    if (done && lookup.has(String(done.scheduledEventId))) {
      const [point] = decode(done.result) as [ResumePoint | undefined];
      if (point?.state !== undefined) state = point.state;
      Object.assign(phases, point?.phases ?? {});
    }
    const child = e.childWorkflowExecutionCompletedEventAttributes;
    const id = child?.workflowExecution?.workflowId;
    if (child && id) phases[id] = decode(child.result)[0];
  }
  return { state, phases };
}

export async function findResumePoint(input: ResumePointInput): Promise<ResumePoint> {
  const namespace = currentActivity()?.info.workflowNamespace ?? temporalSettings().namespace;
  const client = await connectClient({ ...temporalSettings(), namespace });
  try {
    let runId = input.fromRunId;
    let status: string | undefined;
    if (!runId) {
      const runs: { runId: string; status: string; closed: number }[] = [];
      for await (const w of client.workflow.list({ query: `WorkflowId = '${input.campaignId.replace(/'/g, "\\'")}'` })) {
        if (w.runId !== input.currentRunId && w.closeTime) runs.push({ runId: w.runId, status: w.status.name, closed: w.closeTime.getTime() });
      }
      const last = runs.sort((a, b) => b.closed - a.closed)[0];
      if (!last) return { phases: {} };
      runId = last.runId;
      status = last.status;
    }
    if (runId === input.currentRunId) {
      throw ApplicationFailure.create({ type: NonRetryableErrors.InvalidInput, nonRetryable: true, message: 'resume.from_run_id names this very run' });
    }
    const handle = client.workflow.getHandle(input.campaignId, runId);
    status ??= (await handle.describe()).status.name;
    const history = await handle.fetchHistory();
    return { fromRunId: runId, status, ...resumePointOf(history.events ?? []) };
  } finally {
    await client.connection.close();
  }
}

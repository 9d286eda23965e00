// The one place that asks Temporal whether code runs inside an activity. Library functions (called by
// activities, the CLI and tests alike) use these: inside an activity they heartbeat, honour cancellation
// and record provenance; outside one they simply run.
import { Context } from '@temporalio/activity';

/** The running activity's context, or undefined outside an activity (CLI, tests, benchmarks). */
export function currentActivity(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** Workflow and activity ids for provenance records (empty outside an activity). */
export function activityIds(): { workflow_id?: string; activity_id?: string } {
  const info = currentActivity()?.info;
  return info ? { workflow_id: info.workflowExecution?.workflowId, activity_id: info.activityId } : {};
}

// Activity proxies per task queue. One policy everywhere (docs/durability.md):
// - A dead worker is noticed by its missing heartbeats: every activity heartbeats every 5 s (the worker's
//   liveness interceptor), so a 30-second heartbeat timeout means "the worker is gone".
// - Infrastructure failures (heartbeat or start-to-close timeouts, ProcessKilled, Transient) are retried
//   without limit: no maximumAttempts anywhere. A crash never uses up a campaign's retries.
// - Genuine failures are typed and never retried blindly: ML and control activities fail at the first
//   one (ToolFailed is listed non-retryable: the same input fails the same way); the DFT activity counts
//   its own (SCF ladder, dft.max_retries) and turns the last one non-retryable itself.
import { proxyActivities, type ActivityOptions, type RetryPolicy } from '@temporalio/workflow';
import type { ControlActivities, DftActivities, MlActivities } from '../activities';
import type { DftSettings } from '../common/campaign-schema';
import { nonRetryableErrorTypes, RetryableErrors } from '../common/errors';
import { dftAttemptMinutes } from '../common/launcher-schema';
import { TaskQueues } from '../common/queues';

/** Heartbeats come every 5 s (reach the server at least every 10 s, see workers/worker.ts). */
export const HEARTBEAT_TIMEOUT = '30 seconds';

const infrastructureRetry: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s' };
const failFast: RetryPolicy = { ...infrastructureRetry, nonRetryableErrorTypes: [...nonRetryableErrorTypes, RetryableErrors.ToolFailed] };

export const controlOptions: ActivityOptions = {
  taskQueue: TaskQueues.control,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: HEARTBEAT_TIMEOUT,
  retry: failFast,
};
export const control = proxyActivities<ControlActivities>(controlOptions);

export const mlOptions: ActivityOptions = {
  taskQueue: TaskQueues.ml,
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: HEARTBEAT_TIMEOUT,
  retry: failFast,
};
export const ml = proxyActivities<MlActivities>(mlOptions);

/** MACE label batches (ml queue): minutes each, so a hung one is given up sooner than a training. */
export const mlBatchOptions: ActivityOptions = { ...mlOptions, startToCloseTimeout: '60 minutes' };

/**
 * DFT proxy: Temporal retries infrastructure failures forever; the activity itself counts genuine SCF
 * failures against dft.max_retries, choosing each retry's settings by diagnosis (activities/dft/ladder.ts).
 * Start-to-close leaves room for pw.x's own timeout (dft.timeout_minutes), which is a genuine failure.
 */
export function dftActivityOptions(dft: DftSettings): ActivityOptions {
  return {
    taskQueue: TaskQueues.dft,
    // A Slurm job's attempt includes its wait in the queue (common/launcher-schema.ts).
    startToCloseTimeout: `${dftAttemptMinutes(dft)} minutes`,
    heartbeatTimeout: HEARTBEAT_TIMEOUT,
    retry: { ...infrastructureRetry, maximumInterval: '30s', nonRetryableErrorTypes },
  };
}

export function dftProxy(dft: DftSettings) {
  return proxyActivities<DftActivities>(dftActivityOptions(dft));
}

// Activity proxies per task queue, with retry policies that respect the typed failures.
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { ControlActivities, DftActivities, MlActivities } from '../activities';
import type { DftSettings } from '../common/campaign-schema';
import { nonRetryableErrorTypes } from '../common/errors';
import { dftAttemptMinutes } from '../common/launcher-schema';
import { TaskQueues } from '../common/queues';

export const control = proxyActivities<ControlActivities>({
  taskQueue: TaskQueues.control,
  startToCloseTimeout: '30 minutes',
  retry: { maximumAttempts: 3, initialInterval: '1s', nonRetryableErrorTypes },
});

export const ml = proxyActivities<MlActivities>({
  taskQueue: TaskQueues.ml,
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '5 minutes',
  retry: { maximumAttempts: 2, initialInterval: '5s', nonRetryableErrorTypes },
});

/** DFT proxy: attempts = 1 + max_retries, each a rung of the self-healing ladder. */
export function dftActivityOptions(dft: DftSettings): ActivityOptions {
  return {
    taskQueue: TaskQueues.dft,
    // A Slurm job's attempt includes its wait in the queue (common/launcher-schema.ts).
    startToCloseTimeout: `${dftAttemptMinutes(dft)} minutes`,
    // runTool and the Slurm watcher heartbeat every 5 s: 30 s of silence means the worker is gone.
    heartbeatTimeout: '30 seconds',
    retry: { maximumAttempts: dft.max_retries + 1, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes },
  };
}

export function dftProxy(dft: DftSettings) {
  return proxyActivities<DftActivities>(dftActivityOptions(dft));
}

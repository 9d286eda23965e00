// Workflow interceptor (registered by every worker, workers/worker.ts): a workflow running on a CLI run's
// private control queue sends its activities and child workflows to that run's private dft/ml/control
// queues instead of the shared ones (common/queues.ts routedQueue). Deterministic: it depends only on
// the workflow's own task queue; on the shared queues it changes nothing.
import { workflowInfo, type WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { routedQueue } from '../common/queues';

export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      scheduleActivity(input, next) {
        const taskQueue = routedQueue(input.options.taskQueue, workflowInfo().taskQueue);
        return next(taskQueue === input.options.taskQueue ? input : { ...input, options: { ...input.options, taskQueue } });
      },
      startChildWorkflowExecution(input, next) {
        const taskQueue = routedQueue(input.options.taskQueue, workflowInfo().taskQueue);
        return next(taskQueue === input.options.taskQueue ? input : { ...input, options: { ...input.options, taskQueue } });
      },
    },
  ],
});

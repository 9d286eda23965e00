// CLI runs on private queues: the routing rule the workflow interceptor applies (workflows/queue-routing.ts).
import { describe, expect, it } from 'vitest';
import { privateQueue, routedQueue, TaskQueues } from '../../common/queues';

describe('private queues of a CLI run', () => {
  it('route activities and children of a private run to that run\'s queues', () => {
    const wf = privateQueue('control', 'cli-42-abc');
    expect(wf).toBe('autopipe-control@cli-42-abc');
    expect(routedQueue(TaskQueues.dft, wf)).toBe('autopipe-dft@cli-42-abc');
    expect(routedQueue(TaskQueues.ml, wf)).toBe('autopipe-ml@cli-42-abc');
    expect(routedQueue(TaskQueues.control, wf)).toBe(wf);
    expect(routedQueue(undefined, wf)).toBeUndefined(); // a child without a queue inherits the parent's
    expect(routedQueue('someone-elses-queue', wf)).toBe('someone-elses-queue');
  });

  it('leave the shared queues of a campaign alone', () => {
    for (const q of Object.values(TaskQueues)) expect(routedQueue(q, TaskQueues.control)).toBe(q);
  });
});

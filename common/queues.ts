// Task queues and search attributes: pure constants, safe to import from workflow code.
export const TaskQueues = {
  control: 'autopipe-control',
  dft: 'autopipe-dft',
  ml: 'autopipe-ml',
} as const;
export type QueueKind = keyof typeof TaskQueues;
export const allQueueKinds: QueueKind[] = ['control', 'dft', 'ml'];

export const SearchAttributeTypes = {
  CampaignId: 'Keyword',
  Phase: 'Keyword',
  Generation: 'Int',
  System: 'Keyword',
} as const;

/**
 * A CLI run (label, teacher bootstrap, demo) serves its own copies of the queues, "<queue>@<run>", so its
 * in-process workers never take (and drop at exit) a campaign's tasks from the shared ones. A workflow on
 * a private control queue has its activities and children routed to the same run's queues
 * (workflows/queue-routing.ts); on the shared queues nothing changes.
 */
export const PRIVATE_QUEUE_SEPARATOR = '@';

export function privateQueue(kind: QueueKind, run: string): string {
  return `${TaskQueues[kind]}${PRIVATE_QUEUE_SEPARATOR}${run}`;
}

/** The queue a task asked for `requested` goes to when its workflow runs on `workflowQueue`. */
export function routedQueue(requested: string | undefined, workflowQueue: string): string | undefined {
  const prefix = `${TaskQueues.control}${PRIVATE_QUEUE_SEPARATOR}`;
  if (!workflowQueue.startsWith(prefix) || requested === undefined) return requested;
  const run = workflowQueue.slice(prefix.length);
  const kind = allQueueKinds.find((k) => TaskQueues[k] === requested);
  return kind ? privateQueue(kind, run) : requested;
}

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

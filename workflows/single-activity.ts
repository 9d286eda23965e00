// One activity by name, with the same options and retry policy the campaign uses: what the durability
// benchmark (bench/recovery.ts) and tests kill workers under, and a way to rerun one step by hand (from
// the Temporal UI: input {"queue": "ml", "activity": "fitAce", "args": [{...}]}).
import { ApplicationFailure } from '@temporalio/workflow';
import type { DftSettings } from '../common/campaign-schema';
import { NonRetryableErrors } from '../common/errors';
import type { QueueKind } from '../common/queues';
import { control, dftProxy, ml } from './activity-options';

export interface SingleActivityInput {
  queue: QueueKind;
  activity: string;
  args: unknown[];
}

type Proxy = Record<string, ((...args: unknown[]) => Promise<unknown>) | undefined>;

export async function singleActivityWorkflow(input: SingleActivityInput): Promise<unknown> {
  if (!['control', 'dft', 'ml'].includes(input.queue) || !input.activity || !Array.isArray(input.args)) {
    throw ApplicationFailure.create({ type: NonRetryableErrors.InvalidInput, nonRetryable: true, message: 'give {"queue": "control"|"dft"|"ml", "activity": NAME, "args": [...]}' });
  }
  // An activity no worker registers is retried until one does (a worker of a newer build).
  const proxy = (input.queue === 'dft' ? dftProxy((input.args[0] as { dft: DftSettings }).dft) : input.queue === 'ml' ? ml : control) as unknown as Proxy;
  return proxy[input.activity]!(...input.args);
}

// A TypeScript<->Python helper contract: the command name, the zod schema of its input (the JSON payload
// sent to Python) and of its result. Defined once, beside the wrapper that calls the command; the JSON
// Schemas the Python side validates against are generated from these (scripts/contracts.ts writes
// activities/contracts/<command>.json; a unit test fails when they are stale).
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { NonRetryableErrors } from '../../common/errors';

export interface Contract<I extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  command: string;
  input: I;
  result: R;
}

export function contract<I extends z.ZodType, R extends z.ZodType>(command: string, input: I, result: R): Contract<I, R> {
  return { command, input, result };
}

/** The input as the contract has it; a payload that breaks it is our bug, never worth a retry. */
export function contractInput<C extends Contract>(c: C, input: z.input<C['input']>): z.output<C['input']> {
  const r = c.input.safeParse(input);
  if (r.success) return r.data as z.output<C['input']>;
  throw ApplicationFailure.create({
    type: NonRetryableErrors.HelperFailed,
    nonRetryable: true,
    message: `helper "${c.command}": the input breaks its contract: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
  });
}

/** The result as the contract has it. */
export function contractResult<C extends Contract>(c: C, raw: unknown): z.output<C['result']> {
  const r = c.result.safeParse(raw);
  if (r.success) return r.data as z.output<C['result']>;
  throw ApplicationFailure.create({
    type: NonRetryableErrors.HelperFailed,
    nonRetryable: true,
    message: `python helper "${c.command}" returned an unexpected result: ${r.error.message}`,
  });
}

/** Shorthands for payload fields. */
export const filePath = () => z.string().min(1);

// Small pieces shared by the ACE activities (fit, replay, selection, gamma): typed failures and zod
// validation of activity payloads with field-named messages.
import { ApplicationFailure } from '@temporalio/common';
import { existsSync } from 'node:fs';
import type { z } from 'zod';
import { formatIssues } from '../../common/campaign-schema';
import { NonRetryableErrors, type NonRetryableErrorType } from '../../common/errors';

export function nonRetryable(type: NonRetryableErrorType, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, nonRetryable: true, message });
}

/** Parse an activity payload; a bad one is the caller's bug or a bad config: never worth a retry. */
export function parsePayload<T extends z.ZodType>(schema: T, input: unknown, what: string): z.output<T> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  throw nonRetryable(NonRetryableErrors.InvalidConfig, `${what}: ${formatIssues(r.error).join('; ')}`);
}

export function requireFile(file: string | undefined, what: string, fix: string): void {
  if (file !== undefined && !existsSync(file)) throw nonRetryable(NonRetryableErrors.InvalidInput, `${what} not found: ${file} (${fix})`);
}

/** The active set Pacemaker writes beside a potential: potential.yaml -> potential.asi. */
export function activeSetOf(potentialYaml: string): string {
  return potentialYaml.replace(/\.yaml$/, '.asi');
}

/** Helpers send non-finite numbers as strings (JSON has none); read them back. */
export function jsonNumber(v: number | string | null | undefined): number | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'number') return v;
  if (v === 'inf') return Infinity;
  if (v === '-inf') return -Infinity;
  return NaN;
}

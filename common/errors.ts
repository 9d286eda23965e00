// Failure types shared by activities (which throw them) and workflows/retry policies (which read them).
// Retryable: the same activity may succeed on another attempt. Non-retryable: the input must change.
// Of the retryable ones, infrastructure failures (a tool killed from outside, a transient system error;
// and Temporal's own timeouts, which are untyped) are retried for as long as it takes; genuine ones
// (an SCF that did not converge, a tool that failed) count toward a limit (docs/durability.md).
export const RetryableErrors = {
  ScfNotConverged: 'ScfNotConverged',
  ProcessKilled: 'ProcessKilled',
  ToolFailed: 'ToolFailed',
  Transient: 'Transient',
  /** A batch job reached its time limit; the next attempt restarts from the charge density it saved. */
  TimeLimit: 'TimeLimit',
  /** The batch system lost the job (node failure, preemption, cancelled by someone else): submit again. */
  NodeFailure: 'NodeFailure',
  /** The worker stopped while its batch job runs on; the next attempt re-attaches to the job. */
  WorkerShutdown: 'WorkerShutdown',
} as const;

export const NonRetryableErrors = {
  InvalidInput: 'InvalidInput',
  InvalidConfig: 'InvalidConfig',
  MissingPseudopotential: 'MissingPseudopotential',
  UnphysicalStructure: 'UnphysicalStructure',
  ToolMissing: 'ToolMissing',
  TrainingFailed: 'TrainingFailed',
  HelperFailed: 'HelperFailed',
  /** The store already holds this structure with different provenance (nothing was written). */
  DuplicateStructure: 'DuplicateStructure',
  /** The store already holds a different label under the same (structure, oracle, settings) key. */
  LabelConflict: 'LabelConflict',
  /** The batch job ran out of memory: the same request would again (ask for more memory or nodes). */
  OutOfMemory: 'OutOfMemory',
  /** A data file that would run code when read (a pickle naming something outside the allow-list). */
  UnsafeInput: 'UnsafeInput',
  /** A calculation whose estimated cost exceeds the configured limits (activities/dft/cost.ts). */
  TooExpensive: 'TooExpensive',
  /** An untyped error inside an activity: a bug, which a retry would repeat. */
  InternalError: 'InternalError',
} as const;

export type RetryableErrorType = (typeof RetryableErrors)[keyof typeof RetryableErrors];
export type NonRetryableErrorType = (typeof NonRetryableErrors)[keyof typeof NonRetryableErrors];
export type ErrorType = RetryableErrorType | NonRetryableErrorType;

export const nonRetryableErrorTypes: string[] = Object.values(NonRetryableErrors);

/** Failures of the machine, not of the work: never counted against a retry limit. */
export const infrastructureErrorTypes: string[] = [
  RetryableErrors.ProcessKilled, RetryableErrors.Transient, RetryableErrors.NodeFailure, RetryableErrors.WorkerShutdown,
];
/**
 * Genuine tool failures that a retry with other settings may heal (the DFT ladder counts them; a batch
 * job's time limit is diagnosed like dft.timeout_minutes: restart from the saved density).
 */
export const genuineRetryableErrorTypes: string[] = [RetryableErrors.ScfNotConverged, RetryableErrors.ToolFailed, RetryableErrors.TimeLimit];

export function isRetryable(type: string): boolean {
  return (Object.values(RetryableErrors) as string[]).includes(type);
}

// Infrastructure against genuine failures, as the retry policies see them (docs/durability.md): how a
// tool's end by a signal is typed, how untyped activity errors are typed, and that no activity proxy
// limits its attempts while genuine failures of the ML and control queues never retry.
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { typedFailure } from '../../activities/runtime/liveness';
import { signalFailureType } from '../../activities/runtime/process';
import { DftSchema } from '../../common/campaign-schema';
import { infrastructureErrorTypes } from '../../common/errors';
import { controlOptions, dftActivityOptions, mlBatchOptions, mlOptions } from '../../workflows/activity-options';

describe('failure types', () => {
  it('a tool killed from outside is infrastructure; one that crashed by itself is genuine', () => {
    for (const s of ['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGHUP']) expect(signalFailureType(s)).toBe('ProcessKilled');
    for (const s of ['SIGSEGV', 'SIGABRT', 'SIGBUS', 'SIGFPE']) expect(signalFailureType(s)).toBe('ToolFailed');
  });

  it('untyped activity errors: transient system errors retry, bugs fail at once, typed ones pass unchanged', () => {
    const full = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    expect(typedFailure(full)).toMatchObject({ type: 'Transient', nonRetryable: false });
    expect(typedFailure(new TypeError("cannot read properties of undefined (reading 'x')"))).toMatchObject({ type: 'InternalError', nonRetryable: true, message: expect.stringMatching(/^TypeError: /) });
    const typed = ApplicationFailure.create({ type: 'ScfNotConverged', message: 'x' });
    expect(typedFailure(typed)).toBe(typed);
    const cancelled = new CancelledFailure('cancelled');
    expect(typedFailure(cancelled)).toBe(cancelled);
  });

  it('no proxy limits attempts; every one has a 30-second heartbeat timeout; ML and control fail at a genuine failure', () => {
    const dft = dftActivityOptions(DftSchema.parse({}));
    for (const o of [controlOptions, mlOptions, mlBatchOptions, dft]) {
      expect(o.retry?.maximumAttempts).toBeUndefined();
      expect(o.heartbeatTimeout).toBe('30 seconds');
      for (const t of infrastructureErrorTypes) expect(o.retry?.nonRetryableErrorTypes).not.toContain(t);
    }
    for (const o of [controlOptions, mlOptions, mlBatchOptions]) expect(o.retry?.nonRetryableErrorTypes).toContain('ToolFailed');
    // DFT counts its genuine failures itself (dft.max_retries) and makes the last one non-retryable.
    expect(dft.retry?.nonRetryableErrorTypes).not.toContain('ToolFailed');
    expect(dft.retry?.nonRetryableErrorTypes).not.toContain('ScfNotConverged');
    expect(dft.startToCloseTimeout).toBe(`${DftSchema.parse({}).timeout_minutes + 10} minutes`);
  });
});

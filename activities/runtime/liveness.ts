// Every activity heartbeats, whatever it does, so a dead worker is noticed within the heartbeat timeout
// (workflows/activity-options.ts) instead of the start-to-close timeout; and every failure leaves the
// activity typed, so the retry policies can tell infrastructure from genuine tool failures
// (docs/durability.md). Installed on every worker by workers/worker.ts as an activity interceptor.
import type { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { NonRetryableErrors, RetryableErrors } from '../../common/errors';

/** Seconds between heartbeats; the heartbeat timeouts are several times this. */
export const HEARTBEAT_INTERVAL_MS = 5000;
/** A tool is stopped this long before Temporal's start-to-close timeout, so its end is typed by us. */
const DEADLINE_MARGIN_MS = 60_000;

const lastDetails = new WeakMap<Context, unknown>();
const startedAt = new WeakMap<Context, number>();

/** Heartbeat with progress details; the periodic beat repeats them, so the UI keeps showing them. */
export function heartbeat(ctx: Context, details: unknown): void {
  lastDetails.set(ctx, details);
  ctx.heartbeat(details);
}

/** Milliseconds left before this attempt should stop its tool (undefined outside a worker). */
export function msUntilDeadline(ctx: Context | undefined): number | undefined {
  const t0 = ctx && startedAt.get(ctx);
  const limit = ctx?.info.startToCloseTimeoutMs;
  if (!t0 || !limit) return undefined;
  return Math.max(1000, t0 + limit - DEADLINE_MARGIN_MS - Date.now());
}

// Node errors that say the machine, not the input, is in trouble: retried like a lost worker.
const TRANSIENT_CODES = new Set(['ENOSPC', 'EIO', 'EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY', 'ETIMEDOUT', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ESTALE']);

/**
 * An activity's error as the retry policy should see it: typed failures and cancellations unchanged; a
 * transient system error retryable (Transient); anything else is a bug in our code, which a retry
 * would repeat, so it fails at once (non-retryable, under its own name).
 */
export function typedFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure || err instanceof CancelledFailure) return err;
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as NodeJS.ErrnoException).code;
  if (code && TRANSIENT_CODES.has(code)) {
    return ApplicationFailure.create({ type: RetryableErrors.Transient, message: `${e.message} (${code})`, cause: e });
  }
  return ApplicationFailure.create({ type: NonRetryableErrors.InternalError, nonRetryable: true, message: `${e.name}: ${e.message}`, cause: e });
}

/** The worker's activity interceptor: periodic heartbeats, the attempt's deadline, typed failures. */
export const livenessInterceptor: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      startedAt.set(ctx, Date.now());
      const beat = () => ctx.heartbeat(lastDetails.get(ctx) ?? { alive: true });
      beat(); // the first one at once: a crash in the first seconds is noticed as fast as a later one
      const timer = setInterval(beat, HEARTBEAT_INTERVAL_MS);
      try {
        return await next(input);
      } catch (err) {
        throw typedFailure(err);
      } finally {
        clearInterval(timer);
      }
    },
  },
});

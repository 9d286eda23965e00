// The one wrapper for every external process (pw.x, pacemaker, python helpers, mace_run_train):
// argument arrays (never a shell), all output appended to a log file in the run directory, progress
// lines turned into heartbeats, cancellation kills the tool's whole session, the reaper kills it when
// this process dies (reaper.ts), failures mapped to typed ApplicationFailures that carry the log tail:
// killed from outside (ProcessKilled, infrastructure) or failed by itself (ToolFailed, genuine).
import { currentActivity } from './context';
import { ApplicationFailure } from '@temporalio/common';
import { execa } from 'execa';
import { createWriteStream, existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { NonRetryableErrors, RetryableErrors } from '../../common/errors';
import { resolveExecutable } from '../../host/paths';
import { heartbeat, msUntilDeadline } from './liveness';
import { killSession, trackSession } from './reaper';

export interface RunToolOptions {
  /** Executable name or path; resolved against the project venv first, then PATH. */
  command: string;
  args: string[];
  cwd: string;
  logFile: string;
  env?: Record<string, string>;
  /** Return heartbeat details for a line that reports progress, else undefined. */
  progress?: (line: string) => unknown;
  timeoutMs?: number;
  stdin?: string;
  /** Ms between SIGTERM and SIGKILL of the process group on cancellation. */
  killGraceMs?: number;
  /** Write the child's pid here, so a later attempt can reap it if this worker dies (see reapStale). */
  pidFile?: string;
}

export interface RunToolResult {
  exitCode: number;
  stdout: string;
  tail: string;
  durationMs: number;
}

const TAIL_LINES = 40;

/** Signals another process (a user, the OOM killer, a node shutdown) sends; the rest mean the tool crashed. */
const EXTERNAL_SIGNALS = new Set(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGPIPE']);

/** A tool's end by a signal: from outside (ProcessKilled, retried like a lost worker) or its own crash. */
export function signalFailureType(signal: string): string {
  return EXTERNAL_SIGNALS.has(signal) ? RetryableErrors.ProcessKilled : RetryableErrors.ToolFailed;
}

export class ToolExitError extends Error {
  constructor(
    readonly result: RunToolResult,
    readonly command: string,
    readonly signal?: string,
  ) {
    super(`${path.basename(command)} exited with ${signal ? `signal ${signal}` : `code ${result.exitCode}`}`);
  }
}

/**
 * Run a tool to completion. Resolves with the result when the exit code is 0 or `okExitCodes` lists it;
 * otherwise throws ApplicationFailure: ToolMissing (non-retryable), ProcessKilled or ToolFailed
 * (retryable), each with the log tail so the UI shows what happened.
 */
export async function runTool(opts: RunToolOptions & { okExitCodes?: number[] }): Promise<RunToolResult> {
  const exe = resolveExecutable(opts.command);
  if (!exe) {
    throw ApplicationFailure.create({
      type: NonRetryableErrors.ToolMissing,
      nonRetryable: true,
      message: `executable "${opts.command}" not found in the project venv or on PATH: run \`npm run setup\` or fix the command in the campaign file`,
    });
  }
  mkdirSync(path.dirname(opts.logFile), { recursive: true });
  mkdirSync(opts.cwd, { recursive: true });
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  log.write(`\n$ ${[exe, ...opts.args].join(' ')}\n# cwd ${opts.cwd} at ${new Date().toISOString()}\n`);
  const ctx = currentActivity(); // undefined outside an activity: no heartbeats, no cancellation
  // Cancelled before the start (e.g. while a helper wrote the input): the abort event has fired already
  // and would never reach this tool, so do not start it.
  if (ctx?.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
  const tail: string[] = [];
  const started = Date.now();
  // Stop the tool before Temporal's start-to-close timeout would: a timeout we type is a genuine
  // failure, Temporal's own is retried like a lost worker.
  const left = msUntilDeadline(ctx);
  const timeoutMs = left === undefined ? opts.timeoutMs : Math.min(opts.timeoutMs ?? Infinity, left);

  const child = execa(exe, opts.args, {
    cwd: opts.cwd,
    env: { OMP_NUM_THREADS: '1', ...opts.env },
    detached: true, // own session, so cancellation reaches mpirun's ranks too
    input: opts.stdin,
    stdin: opts.stdin === undefined ? 'ignore' : 'pipe',
    reject: false,
    buffer: { stdout: true, stderr: false },
    stripFinalNewline: false,
    timeout: timeoutMs,
    killSignal: 'SIGTERM',
    forceKillAfterDelay: opts.killGraceMs ?? 5000,
    cleanup: true,
  });
  const untrack = trackSession(child.pid);

  if (opts.pidFile && child.pid) writeFileSync(opts.pidFile, `${child.pid}\n`);

  const onLine = (line: string) => {
    log.write(line + '\n');
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    if (ctx && opts.progress) {
      const details = opts.progress(line);
      if (details !== undefined) heartbeat(ctx, details);
    }
  };
  const splitter = () => {
    let buf = '';
    return (chunk: Buffer) => {
      buf += chunk.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      lines.forEach(onLine);
    };
  };
  child.stdout?.on('data', splitter());
  child.stderr?.on('data', splitter());

  // A quiet tool is kept alive by the worker's periodic heartbeat (liveness.ts), which repeats the
  // last progress details.
  let cancelled = false;
  const onCancel = () => {
    cancelled = true;
    killSession(child.pid, 'SIGTERM');
    setTimeout(() => killSession(child.pid, 'SIGKILL'), opts.killGraceMs ?? 5000).unref();
  };
  ctx?.cancellationSignal.addEventListener('abort', onCancel);

  const r = await child;
  ctx?.cancellationSignal.removeEventListener('abort', onCancel);
  killSession(child.pid, 'SIGKILL'); // stray grandchildren of a finished tool must not outlive it
  untrack();
  const result: RunToolResult = {
    exitCode: r.exitCode ?? -1,
    stdout: typeof r.stdout === 'string' ? r.stdout : '',
    tail: tail.join('\n'),
    durationMs: Date.now() - started,
  };
  log.write(`# exit ${r.exitCode ?? r.signal} after ${result.durationMs} ms\n`);
  await new Promise<void>((res) => log.end(res));

  if (cancelled && ctx) throw ctx.cancellationSignal.reason ?? new Error('cancelled');
  if (r.exitCode === 0 || (r.exitCode !== undefined && opts.okExitCodes?.includes(r.exitCode))) return result;
  if (r.timedOut) {
    throw ApplicationFailure.create({
      type: RetryableErrors.ToolFailed,
      message: `${path.basename(exe)} timed out after ${Math.round(result.durationMs / 1000)} s and was stopped; log: ${opts.logFile}\n${result.tail}`,
      details: [{ logFile: opts.logFile, timedOut: true }],
    });
  }
  if (r.signal) {
    const type = signalFailureType(r.signal);
    throw ApplicationFailure.create({
      type,
      message: `${path.basename(exe)} ${type === RetryableErrors.ProcessKilled ? 'was killed' : 'crashed'} (${r.signal}); log: ${opts.logFile}\n${result.tail}`,
      details: [{ logFile: opts.logFile, signal: r.signal }],
    });
  }
  throw ApplicationFailure.create({
    type: RetryableErrors.ToolFailed,
    message: `${path.basename(exe)} exited with code ${r.exitCode}; log: ${opts.logFile}\n${result.tail}`,
    details: [{ logFile: opts.logFile, exitCode: r.exitCode }],
  });
}

/**
 * Kill a tool left behind by an earlier attempt (a worker on this host that died so hard that its reaper
 * died too, or one that still runs after its heartbeats stopped reaching the server): no two tools ever
 * write the same directory. Only a process still running in `cwd` is touched, so a recycled pid is
 * never killed by mistake.
 */
export function reapStale(pidFile: string, cwd: string): boolean {
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    if (path.resolve(readlinkSync(`/proc/${pid}/cwd`)) !== path.resolve(cwd)) return false;
  } catch {
    return false; // not running
  }
  killSession(pid, 'SIGKILL');
  return true;
}

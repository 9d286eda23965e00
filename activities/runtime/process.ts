// The one wrapper for every external process (pw.x, pacemaker, python helpers, mace_run_train):
// argument arrays (never a shell), all output appended to a log file in the run directory, progress
// lines turned into heartbeats, cancellation kills the whole process group, failures mapped to typed
// ApplicationFailures that carry the log tail.
import { currentActivity } from './context';
import { ApplicationFailure } from '@temporalio/common';
import { execa } from 'execa';
import { createWriteStream, existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { NonRetryableErrors, RetryableErrors } from '../../common/errors';
import { resolveExecutable } from '../../host/paths';

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


function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
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
  let lastDetails: unknown;

  const child = execa(exe, opts.args, {
    cwd: opts.cwd,
    env: { OMP_NUM_THREADS: '1', ...opts.env },
    detached: true, // own process group, so cancellation reaches mpirun's children too
    input: opts.stdin,
    stdin: opts.stdin === undefined ? 'ignore' : 'pipe',
    reject: false,
    buffer: { stdout: true, stderr: false },
    stripFinalNewline: false,
    timeout: opts.timeoutMs,
    killSignal: 'SIGTERM',
    forceKillAfterDelay: opts.killGraceMs ?? 5000,
    cleanup: true,
  });

  if (opts.pidFile && child.pid) writeFileSync(opts.pidFile, `${child.pid}\n`);

  const onLine = (line: string) => {
    log.write(line + '\n');
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    if (ctx && opts.progress) {
      const details = opts.progress(line);
      if (details !== undefined) {
        lastDetails = details;
        ctx.heartbeat(details);
      }
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

  // Heartbeat even when the tool is quiet, so a slow SCF step is not mistaken for a dead worker; repeat
  // the last progress so the UI keeps showing it between progress lines.
  // Before the first progress line, the tool's latest output line says what it is doing (watchers show it).
  const quiet = () => ({ alive: true, seconds: Math.round((Date.now() - started) / 1000), last: tail[tail.length - 1]?.trim().slice(0, 160) });
  const beat = ctx ? setInterval(() => ctx.heartbeat(lastDetails ?? quiet()), 5000) : undefined;
  let cancelled = false;
  const onCancel = () => {
    cancelled = true;
    killGroup(child.pid, 'SIGTERM');
    setTimeout(() => killGroup(child.pid, 'SIGKILL'), opts.killGraceMs ?? 5000).unref();
  };
  ctx?.cancellationSignal.addEventListener('abort', onCancel);

  const r = await child;
  if (beat) clearInterval(beat);
  ctx?.cancellationSignal.removeEventListener('abort', onCancel);
  killGroup(child.pid, 'SIGKILL'); // stray grandchildren of a finished tool must not outlive it
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
  if (r.signal || r.timedOut) {
    throw ApplicationFailure.create({
      type: RetryableErrors.ProcessKilled,
      message: `${path.basename(exe)} was killed (${r.timedOut ? 'timeout' : r.signal}); log: ${opts.logFile}\n${result.tail}`,
      details: [{ logFile: opts.logFile }],
    });
  }
  throw ApplicationFailure.create({
    type: RetryableErrors.ToolFailed,
    message: `${path.basename(exe)} exited with code ${r.exitCode}; log: ${opts.logFile}\n${result.tail}`,
    details: [{ logFile: opts.logFile, exitCode: r.exitCode }],
  });
}

/**
 * Kill a process group left behind by a worker that died mid-run (SIGKILL, node crash): the tool was
 * started detached, so it outlives its worker. Only a process still running in `cwd` is touched, so a
 * recycled pid is never killed by mistake.
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
  killGroup(pid, 'SIGKILL');
  return true;
}

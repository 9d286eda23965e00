// Long-lived Python helper processes (python -m activities.runtime.helper_server), one per worker and kind:
// "mace" (ml queue) keeps torch, MACE and the models loaded across batches ("sevennet" the same for
// SevenNet-0, apart: it needs e3nn 0.5 where MACE pins 0.4); "dft" keeps ASE imported for
// writing pw.x inputs and reading its outputs (about 1 s of import per call otherwise). Requests go one
// JSON line each over stdin; the server answers them in order, so progress lines on stderr belong to the
// oldest pending request. A cancelled MACE activity kills the process group (the next request starts a
// fresh server); a cancelled DFT request, milliseconds long, finishes first and then raises the
// cancellation. A server killed from outside fails the pending requests with ProcessKilled (retried like a
// lost worker); one that crashed by itself with ToolFailed (genuine). The reaper (reaper.ts) kills the
// server when its worker or CLI process dies. AUTOPIPE_MACE_SERVER=off
// (AUTOPIPE_DFT_SERVER=off) runs one process per request instead (same helper code, through callPython),
// which the benchmarks measure against.
import type { Context } from '@temporalio/activity';
import { currentActivity } from './context';
import { ApplicationFailure } from '@temporalio/common';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { NonRetryableErrors, RetryableErrors, nonRetryableErrorTypes } from '../../common/errors';
import { pythonExe, pythonPath, stateDir } from '../../host/paths';
import { callPython, parseProgressLine } from './python';
import { contractInput, contractResult, type Contract } from './contract';
import { heartbeat, whileQuiet } from './liveness';
import { signalFailureType } from './process';
import { killSession, trackSession } from './reaper';

const Reply = z.union([
  z.object({ id: z.number(), ok: z.literal(true), result: z.unknown() }),
  z.object({ id: z.number().nullable(), ok: z.literal(false), error: z.object({ type: z.string(), message: z.string() }) }),
]);

interface Pending {
  id: number;
  command: string;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  logFile?: string;
  ctx?: Context;
  /** Its latest stderr line, which a quiet heartbeat carries before any progress. */
  lastLine?: string;
}

export interface ServerRequestOptions {
  /** stderr lines of this request are appended here (the run directory), besides the server log. */
  logFile?: string;
  /** Working directory for the one-process fallback (input JSON and log). */
  workDir: string;
}


export class HelperServer {
  private child?: ChildProcess;
  private ready?: Promise<void>;
  private pending: Pending[] = [];
  private nextId = 1;
  private stdoutBuf = '';
  private stderrBuf = '';
  private tail: string[] = [];
  readonly logFile: string;
  /** How many server processes this manager has started (tests and the benchmark read it). */
  starts = 0;

  /** "MACE", "SEVENNET" or "DFT": messages, and the AUTOPIPE_<label>_SERVER switches. */
  private readonly label: string;
  private readonly envPrefix: string;
  private readonly idleSeconds: number;

  /** kind "mace" and "sevennet" load torch (thread count fixed first); "dft" needs ASE only. */
  constructor(private readonly kind: 'mace' | 'sevennet' | 'dft' = 'mace', idleSeconds?: number) {
    this.label = kind.toUpperCase();
    this.envPrefix = `AUTOPIPE_${this.label}_SERVER`;
    this.idleSeconds = idleSeconds ?? Number(process.env[`${this.envPrefix}_IDLE`] ?? 600);
    this.logFile = path.join(stateDir, 'logs', `${kind}-server-${process.pid}.log`);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private log(line: string, extra?: string) {
    try {
      appendFileSync(this.logFile, line + '\n');
      if (extra) appendFileSync(extra, line + '\n');
    } catch {
      /* logging must never fail a batch */
    }
  }

  private start(): Promise<void> {
    mkdirSync(path.dirname(this.logFile), { recursive: true });
    const args = ['-m', 'activities.runtime.helper_server', '--idle', String(this.idleSeconds), ...(this.kind === 'dft' ? [] : ['--torch'])];
    const child = spawn(pythonExe, args, {
      cwd: pythonPath,
      env: { ...process.env, PYTHONPATH: pythonPath, PYTHONUNBUFFERED: '1', OMP_NUM_THREADS: process.env.AUTOPIPE_ML_THREADS ?? '1', TF_CPP_MIN_LOG_LEVEL: '2' },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true, // own process group: cancellation kills whatever it spawned too
    });
    this.child = child;
    const untrack = trackSession(child.pid);
    this.starts++;
    this.stdoutBuf = '';
    this.stderrBuf = '';
    this.log(`# ${this.kind} helper server pid ${child.pid} started ${new Date().toISOString()}`);
    let signalReady: () => void;
    let failReady: (e: unknown) => void;
    const ready = new Promise<void>((res, rej) => {
      signalReady = res;
      failReady = rej;
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      this.stdoutBuf += chunk.toString();
      let nl: number;
      while ((nl = this.stdoutBuf.indexOf('\n')) >= 0) {
        const line = this.stdoutBuf.slice(0, nl);
        this.stdoutBuf = this.stdoutBuf.slice(nl + 1);
        if (line.trim()) this.onReply(line, signalReady);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderrBuf += chunk.toString();
      const lines = this.stderrBuf.split('\n');
      this.stderrBuf = lines.pop() ?? '';
      for (const line of lines) this.onStderr(line);
    });
    child.on('exit', (code, signal) => {
      this.log(`# ${this.kind} helper server pid ${child.pid} exited (${signal ?? code})`);
      untrack();
      if (this.child === child) {
        this.child = undefined;
        this.ready = undefined;
      }
      const err = ApplicationFailure.create({
        type: signal ? signalFailureType(signal) : RetryableErrors.ToolFailed,
        message: `the ${this.label} helper server exited (${signal ?? `code ${code}`}) with requests pending; log: ${this.logFile}\n${this.tail.join('\n')}`,
      });
      failReady(err);
      const pending = this.pending;
      this.pending = [];
      pending.forEach((p) => p.reject(err));
    });
    child.on('error', (e) =>
      failReady(ApplicationFailure.create({ type: NonRetryableErrors.ToolMissing, nonRetryable: true, message: `cannot start the ${this.label} helper (${pythonExe}): ${e.message}; run \`npm run setup\`` })),
    );
    // A write racing the server's death must not crash the worker: the exit handler fails the requests.
    child.stdin!.on('error', (e) => this.log(`# stdin: ${e.message}`));
    this.setRef(false);
    return ready;
  }

  /** An idle server must not keep a finished worker or CLI alive (closing stdin ends it); a busy one must. */
  private setRef(on: boolean) {
    const c = this.child;
    if (!c) return;
    for (const h of [c, c.stdin, c.stdout, c.stderr] as unknown as { ref?: () => void; unref?: () => void }[]) {
      if (on) h?.ref?.();
      else h?.unref?.();
    }
  }

  private onReply(line: string, signalReady: () => void) {
    let reply: z.infer<typeof Reply>;
    try {
      reply = Reply.parse(JSON.parse(line));
    } catch {
      this.log(`# unparseable reply: ${line.slice(0, 500)}`);
      return;
    }
    if (reply.id === 0 && reply.ok) return signalReady();
    const idx = this.pending.findIndex((p) => p.id === reply.id);
    const p = idx >= 0 ? this.pending.splice(idx, 1)[0]! : this.pending.shift();
    if (this.pending.length === 0) this.setRef(false);
    if (!p) return;
    if (reply.ok) p.resolve(reply.result);
    else {
      p.reject(
        ApplicationFailure.create({
          type: reply.error.type,
          nonRetryable: nonRetryableErrorTypes.includes(reply.error.type),
          message: `${reply.error.message} (helper "${p.command}", log: ${p.logFile ?? this.logFile})`,
        }),
      );
    }
  }

  private onStderr(line: string) {
    const current = this.pending[0];
    this.log(line, current?.logFile);
    this.tail.push(line);
    if (this.tail.length > 30) this.tail.shift();
    const details = parseProgressLine(line);
    if (current) current.lastLine = line;
    if (details !== undefined && current?.ctx) heartbeat(current.ctx, details);
  }

  /** Run one helper command in the server, starting it when needed. */
  async request<C extends Contract>(c: C, payload: z.input<C['input']>, opts: ServerRequestOptions): Promise<z.output<C['result']>> {
    if (process.env[this.envPrefix] === 'off') return callPython(c, payload, { workDir: opts.workDir });
    const command = c.command;
    const input = contractInput(c, payload);
    if (!this.child || !this.ready) this.ready = this.start();
    this.setRef(true);
    await this.ready;
    const ctx = currentActivity();
    const id = this.nextId++;
    const child = this.child!;
    let entry: Pending | undefined;
    const result = new Promise<unknown>((resolve, reject) => {
      entry = { id, command, resolve, reject, logFile: opts.logFile, ctx };
      this.pending.push(entry);
    });
    if (opts.logFile) mkdirSync(path.dirname(opts.logFile), { recursive: true });
    child.stdin!.write(JSON.stringify({ id, command, input }) + '\n');

    // Quiet batches are kept alive by the worker's periodic heartbeat (liveness.ts), which says before the
    // first progress line what the helper last printed. A cancelled MACE batch (minutes long) takes the
    // server down with it; a DFT helper request takes milliseconds and may share the server with another
    // slot's request, so it finishes and the cancellation is raised after it.
    const t0 = Date.now();
    const stopQuiet = ctx ? whileQuiet(ctx, () => ({ alive: true, request: id, seconds: Math.round((Date.now() - t0) / 1000), last: entry?.lastLine?.trim().slice(0, 160) })) : undefined;
    const onCancel = () => this.kind !== 'dft' && this.kill('SIGKILL');
    ctx?.cancellationSignal.addEventListener('abort', onCancel);
    try {
      const parsed = contractResult(c, await result);
      if (ctx?.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
      return parsed;
    } catch (err) {
      if (ctx?.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? err;
      throw err;
    } finally {
      stopQuiet?.();
      ctx?.cancellationSignal.removeEventListener('abort', onCancel);
    }
  }

  /** Stop the server (its session); pending requests fail with ProcessKilled. */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    killSession(this.child?.pid, signal);
  }

  /** Close stdin so the server exits on its own once the current request is done. */
  close(): void {
    this.child?.stdin?.end();
  }
}

let mace: HelperServer | undefined;
let sevennet: HelperServer | undefined;
let dft: HelperServer | undefined;

/** The worker's MACE server (created lazily on the first MACE request). */
export function maceServer(): HelperServer {
  mace ??= new HelperServer('mace');
  return mace;
}

/** SevenNet-0's own server: it needs e3nn 0.5, which a process that loaded MACE's e3nn 0.4 cannot import. */
export function sevennetServer(): HelperServer {
  sevennet ??= new HelperServer('sevennet');
  return sevennet;
}

/** The server a fast oracle runs in: SevenNet apart from MACE and CHGNet. */
export function oracleServer(kind: 'mace' | 'chgnet' | 'sevennet'): HelperServer {
  return kind === 'sevennet' ? sevennetServer() : maceServer();
}

/** The worker's DFT-side server: pw.x input writing and output reading through ASE. */
export function dftHelperServer(): HelperServer {
  dft ??= new HelperServer('dft');
  return dft;
}

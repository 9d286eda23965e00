// No tool outlives the Node process that started it (a worker, a CLI run, a test). Tools run detached,
// each leading a session of its own, so cancellation can kill a whole tree (mpirun's ranks take process
// groups of their own but stay in its session); the price is that a SIGKILLed worker would leave them
// running with parent pid 1, writing into directories a retry then uses. The reaper (reaper.sh) is one
// small bash process per Node process, in a session of its own, holding a pipe from us: we tell it which
// sessions we started and which ended; when the pipe closes, however we died, it kills what is left.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'reaper.sh');
let reaper: ChildProcess | undefined;
let failed = false;

function ensureReaper(): ChildProcess | undefined {
  if (reaper || failed) return reaper;
  try {
    const child = spawn('bash', [script], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', () => {
      failed = true;
      reaper = undefined;
    });
    child.on('exit', () => {
      if (reaper === child) reaper = undefined; // killed by someone: the next tool starts a new one
    });
    child.stdin!.on('error', () => undefined);
    // Neither the reaper nor its pipe may keep a finished process alive.
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    reaper = child;
  } catch {
    failed = true;
  }
  return reaper;
}

/**
 * Register a session (the pid of a tool spawned detached): it is killed when this process dies. Returns
 * the function to call once the tool is gone.
 */
export function trackSession(sid: number | undefined): () => void {
  if (!sid) return () => undefined;
  const r = ensureReaper();
  r?.stdin?.write(`+${sid}\n`);
  return () => {
    if (reaper === r) r?.stdin?.write(`-${sid}\n`);
  };
}

/** The reaper's pid (tests check it survives the process it guards). */
export function reaperPid(): number | undefined {
  return reaper?.pid;
}

/** Pids of every live process in session `sid` (from /proc). */
export function sessionMembers(sid: number): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // state ppid pgrp session ...
      if (Number(fields[3]) === sid) out.push(Number(e));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** Signal a tool's whole session: its process group and every process that left it (mpirun ranks). */
export function killSession(sid: number | undefined, signal: NodeJS.Signals): void {
  if (!sid) return;
  try {
    process.kill(-sid, signal);
  } catch {
    /* group already gone */
  }
  for (const pid of sessionMembers(sid)) {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone */
    }
  }
}

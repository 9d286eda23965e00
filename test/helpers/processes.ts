// Process-tree checks for the durability tests: what a worker process has started, and whether any of
// it is still alive after the worker was killed.
import { readdirSync, readFileSync } from 'node:fs';

export interface Proc {
  pid: number;
  ppid: number;
  sid: number;
  cmd: string;
}

export function processes(): Proc[] {
  const out: Proc[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      out.push({ pid: Number(e), ppid: Number(f[1]), sid: Number(f[3]), cmd });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/**
 * Every process started by `root`, directly or not (by parent pid), and every member of the sessions
 * they lead (tools run detached; mpirun's ranks leave its process group but not its session). The
 * root's own session (the test runner's) is not theirs.
 */
export function descendants(root: number): Proc[] {
  const all = processes();
  const rootSid = all.find((p) => p.pid === root)?.sid;
  const found = new Map<number, Proc>();
  let frontier = [root];
  while (frontier.length) {
    const next = all.filter((p) => frontier.includes(p.ppid) && !found.has(p.pid));
    next.forEach((p) => found.set(p.pid, p));
    frontier = next.map((p) => p.pid);
  }
  const sessions = new Set([...found.values()].map((p) => p.sid).filter((sid) => sid !== rootSid));
  for (const p of all) if (sessions.has(p.sid) && p.sid !== 0 && !found.has(p.pid) && p.pid !== root) found.set(p.pid, p);
  return [...found.values()];
}

export function alive(pids: number[]): number[] {
  return pids.filter((pid) => {
    try {
      process.kill(pid, 0);
      const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
      return state !== 'Z';
    } catch {
      return false;
    }
  });
}

/** Poll until none of `pids` is alive; resolves with the seconds it took, or rejects after `limitS`. */
export async function gone(pids: number[], limitS: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const left = alive(pids);
    if (left.length === 0) return (Date.now() - t0) / 1000;
    if (Date.now() - t0 > limitS * 1000) {
      const all = processes();
      throw new Error(`still alive after ${limitS} s: ${left.map((p) => `${p} ${all.find((x) => x.pid === p)?.cmd ?? ''}`).join('; ')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function until<T>(what: string, probe: () => T | undefined | false, limitS = 600): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() - t0 > limitS * 1000) throw new Error(`timed out after ${limitS} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

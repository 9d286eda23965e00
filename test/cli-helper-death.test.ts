// Python helpers die with the CLI process that started them (issue 14, item 5): `autopipe generate` with a
// large --count is SIGKILLed while its structures-generate helper works; a moment later the helper is
// gone too (the session reaper of activities/runtime/reaper.ts), instead of running on with parent pid 1.
import { execa } from 'execa';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { projectRoot } from '../host/paths';
import { sandbox } from './helpers/bad-input';

const box = sandbox('autopipe-helper-death');
afterAll(() => {
  // A failed run must not leave its helper behind either.
  for (const pid of processesWith('activities.runtime.helper_cli', box.dir)) process.kill(pid, 'SIGKILL');
  rmSync(box.dir, { recursive: true, force: true });
});

/** Live (not zombie) processes whose command line contains every one of `parts`. */
function processesWith(...parts: string[]): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const state = readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]?.[0];
      if (state !== 'Z' && parts.every((p) => cmd.includes(p))) out.push(Number(d));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

describe('Python helpers of a CLI run', () => {
  it('die when the CLI is SIGKILLed (generate --count 100000)', async () => {
    const cfg = box.file('c.yaml', 'system: {name: Si, elements: [Si], prototype: {kind: diamond, a: 5.43}, supercell: [2, 2, 2]}\n');
    const runDir = box.at('run');
    const cli = execa(process.execPath, [path.join(projectRoot, 'bin', 'autopipe.mjs'), 'generate', '--config', cfg, '--count', '100000', '--run-dir', runDir, '--out', box.at('out.extxyz')], { reject: false });
    // The helper's command line names its input file, which lies in this run directory.
    let helpers: number[] = [];
    await vi.waitFor(() => {
      helpers = processesWith('activities.runtime.helper_cli', 'structures-generate', runDir);
      expect(helpers.length).toBe(1);
    }, { timeout: 60_000, interval: 200 });
    await new Promise((r) => setTimeout(r, 1000)); // well into its work
    expect(processesWith('activities.runtime.helper_cli', runDir)).toEqual(helpers);
    cli.kill('SIGKILL');
    const r = await cli;
    expect(r.signal).toBe('SIGKILL');
    await vi.waitFor(() => expect(processesWith('activities.runtime.helper_cli', runDir)).toEqual([]), { timeout: 10_000, interval: 200 });
  });
});

// scripts/hpc/slurm-cluster.sh on a machine that has run it before: pids wrap (pid_max 32768 here), so a
// pid file left by a daemon stopped hours ago can name an unrelated live process. CI once failed because
// `start` took such a file for a running slurmctld and never started one. Its own state directory and
// ports, so it never touches the cluster the other Slurm tests share.
import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../host/paths';
import { slurmUnavailable } from './helpers/slurm';

const skip = slurmUnavailable();
const script = path.join(projectRoot, 'scripts', 'hpc', 'slurm-cluster.sh');

describe.skipIf(skip)(`the local Slurm cluster script${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('starts over stale pid files that name other processes, and stop leaves those processes alone', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'slurm-stale-'));
    const env = { AUTOPIPE_SLURM_DIR: dir, AUTOPIPE_SLURM_PORTS: '6927 6928' };
    const stranger = spawn('sleep', ['300'], { stdio: 'ignore' });
    try {
      mkdirSync(path.join(dir, 'munge'), { recursive: true });
      for (const f of ['slurmctld.pid', 'slurmd.pid', 'munge/munged.pid']) writeFileSync(path.join(dir, f), `${stranger.pid}\n`);
      const up = await execa('bash', [script, 'start'], { env, reject: false, all: true, timeout: 180_000 });
      expect(up.exitCode, String(up.all)).toBe(0);
      const conf = path.join(dir, 'slurm.conf');
      expect(String(up.all)).toContain(`SLURM_CONF=${conf}`);
      const state = await execa('sinfo', ['-h', '-N', '-o', '%t'], { env: { SLURM_CONF: conf } });
      expect(String(state.stdout).trim()).toMatch(/^(idle|mix|alloc)/);

      const down = await execa('bash', [script, 'stop'], { env, reject: false, all: true });
      expect(down.exitCode, String(down.all)).toBe(0);
      expect(stranger.exitCode).toBeNull(); // still running: stop killed only the daemons it started
      expect(() => process.kill(stranger.pid!, 0)).not.toThrow();
      for (const f of ['slurmctld.pid', 'slurmd.pid', 'munge/munged.pid']) expect(existsSync(path.join(dir, f)), f).toBe(false);
      const gone = await execa('sinfo', [], { env: { SLURM_CONF: conf }, reject: false, timeout: 30_000 });
      expect(gone.exitCode).not.toBe(0);
    } finally {
      stranger.kill('SIGKILL');
      await execa('bash', [script, 'stop'], { env, reject: false });
    }
  });
});

// The one-node Slurm cluster of the tests (scripts/hpc/slurm-cluster.sh): started by the test itself,
// reused when it already answers. Skipped only where Slurm cannot be installed (not root, no sudo).
import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../host/paths';

const script = path.join(projectRoot, 'scripts', 'hpc', 'slurm-cluster.sh');
const onPath = (b: string) => (process.env.PATH ?? '').split(':').some((d) => existsSync(path.join(d, b)));

function canInstall(): boolean {
  if (process.getuid?.() === 0) return true;
  try {
    execFileSync('sudo', ['-n', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why the Slurm tests cannot run here, or undefined when they must. */
export function slurmUnavailable(): string | undefined {
  const missing = ['sbatch', 'slurmctld', 'slurmd', 'munged'].filter((b) => !onPath(b) && !existsSync(`/usr/sbin/${b}`));
  if (missing.length === 0) return process.getuid?.() === 0 ? undefined : 'a local Slurm cluster needs root (slurmd starts jobs as their user)';
  // Installed by scripts/setup.sh wherever it can be: missing on a machine that could install it is a failure.
  if (canInstall()) return undefined;
  return `Slurm cannot be installed here (${missing.join(', ')} missing; apt-get needs root or sudo)`;
}

/** Start (or reuse) the cluster; sets SLURM_CONF for this process and the workers it starts. */
export async function startSlurmCluster(): Promise<string> {
  const r = await execa('bash', [script, 'start'], { reject: false, all: true });
  if (r.exitCode !== 0) throw new Error(`the local Slurm cluster did not start (is slurm-wlm installed? scripts/setup.sh installs it):\n${r.all}`);
  const conf = /SLURM_CONF=(\S+)/.exec(String(r.all))?.[1];
  if (!conf) throw new Error(`slurm-cluster.sh printed no SLURM_CONF:\n${r.all}`);
  process.env.SLURM_CONF = conf;
  return conf;
}

/** A Slurm client command against the test cluster. */
export async function slurmCmd(cmd: string, args: string[]): Promise<string> {
  const r = await execa(cmd, args, { env: { SLURM_CONF: process.env.SLURM_CONF }, reject: false });
  if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return String(r.stdout).trim();
}

/** State of a job as squeue sees it (finished jobs stay listed for an hour: MinJobAge). */
export async function jobState(jobId: string): Promise<string> {
  return slurmCmd('squeue', ['--states=all', '-h', '-j', jobId, '-o', '%T']);
}

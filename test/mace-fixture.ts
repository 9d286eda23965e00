// The tiny MACE committee the MACE-tier tests share: trained once per test run by the real CLI
// (`autopipe teacher bootstrap`, DFT labels from pw.x, through the run's dev server) and reused by every
// file. A directory lock makes concurrent files wait for the first one instead of training twice.
import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { projectRoot } from '../host/paths';
import type { TeacherBootstrapResult } from '../workflows/teacher';
import { useTestServerEnv } from './helpers/temporal';

/** Small and fast on 2 cores: 8-atom Si cells, 2x2x2 k-points, 16x0e models, 20 epochs, 6 seed structures. */
export const fixtureCampaign = {
  seed: 7,
  system: { name: 'Si', elements: ['Si'], prototype: { kind: 'diamond', a: 5.43, cubic: true } },
  // Rattled bulk cells only: the seeds are the teacher's training data here, and a vacancy in an 8-atom Si cell
  // with fixed occupations is what the DFT healing ladder (not this fixture) has to cope with.
  generation: { rattle_sigma: 0.05, volume_range: [0.97, 1.03], shear_fraction: 0, vacancy_fraction: 0 },
  dft: { pseudopotentials: { Si: 'Si.pz-vbc.UPF' }, ecutwfc: 16, smearing: 'none', kspacing: 0.12, concurrency: 2 },
  teacher: { bootstrap: { members: 2, seed_structures: 6, max_epochs: 20 }, batch_size: 16 },
};

export interface CommitteeFixture extends TeacherBootstrapResult {
  runDir: string;
  campaignFile: string;
  cliStdout: string;
  cliSeconds: number;
}

function cacheDir(): string {
  const port = inject('temporalEnv').AUTOPIPE_TEMPORAL_PORT ?? 'default';
  return path.join(os.tmpdir(), `autopipe-mace-fixture-${port}`);
}

async function waitForLock(lock: string, done: string): Promise<boolean> {
  for (;;) {
    try {
      mkdirSync(lock);
      return true; // ours: train
    } catch {
      if (existsSync(done)) return false;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** The committee; the first caller in the run trains it (this file's workers must be running: the CLI uses --no-worker). */
export async function sharedCommittee(): Promise<CommitteeFixture> {
  const dir = cacheDir();
  mkdirSync(dir, { recursive: true });
  const done = path.join(dir, 'committee.json');
  if (existsSync(done)) return JSON.parse(readFileSync(done, 'utf8')) as CommitteeFixture;
  useTestServerEnv();
  const mine = await waitForLock(path.join(dir, 'lock'), done);
  if (!mine) return JSON.parse(readFileSync(done, 'utf8')) as CommitteeFixture;
  try {
    const runDir = path.join(dir, 'run');
    const campaignFile = path.join(dir, 'campaign.json');
    writeFileSync(campaignFile, JSON.stringify(fixtureCampaign, null, 1));
    const started = Date.now();
    const r = await execa(process.execPath, [path.join(projectRoot, 'bin', 'autopipe.mjs'), 'teacher', 'bootstrap', '--config', campaignFile, '--run-dir', runDir, '--json', '--no-worker'], {
      timeout: 10 * 60_000, // a workflow that cannot make progress must fail the run, not hang it
      cwd: projectRoot,
      // This pool slot's namespace, where this file's workers poll (see test/helpers/temporal.ts).
      env: { ...process.env },
      reject: false,
    });
    if (r.exitCode !== 0) throw new Error(`teacher bootstrap failed (${r.exitCode}):\n${r.stderr}\n${r.stdout}`);
    const result = JSON.parse(r.stdout) as TeacherBootstrapResult;
    const fixture: CommitteeFixture = { ...result, runDir, campaignFile, cliStdout: r.stdout, cliSeconds: (Date.now() - started) / 1000 };
    writeFileSync(done, JSON.stringify(fixture));
    return fixture;
  } catch (err) {
    rmSync(path.join(dir, 'lock'), { recursive: true, force: true });
    throw err;
  }
}

// Durability: the DFT worker (a separate `autopipe worker` process) is SIGKILLed in the middle of DFT
// labelling and restarted. The campaign finishes, and no DFT label finished before the kill is computed
// again (every pw.x start is counted by a wrapper in the command template).
import { execa, type ResultPromise } from 'execa';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../host/paths';
import { TaskQueues } from '../common/queues';
import { campaignWorkflow } from '../workflows/campaign';
import { loadCampaignFile } from '../cli/campaign-file';
import { startTestWorkers, testClient, useTestServerEnv } from './helpers/temporal';

const cli = path.join(projectRoot, 'bin', 'autopipe.mjs');
const wrapper = path.join(projectRoot, 'test', 'fixtures', 'pw-counting.sh');

function finishedLabels(runDir: string): Map<string, number> {
  const out = new Map<string, number>();
  const dft = path.join(runDir, 'dft');
  if (!existsSync(dft)) return out;
  for (const id of readdirSync(dft)) {
    for (const f of readdirSync(path.join(dft, id)).filter((x) => x.startsWith('label-'))) out.set(id, statSync(path.join(dft, id, f)).mtimeMs);
  }
  return out;
}

describe('a DFT worker killed mid-labelling', () => {
  let stopInProcess: () => Promise<void>;
  const workers: ResultPromise[] = [];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-kill-'));
  const countFile = path.join(dir, 'pw-starts.txt');
  const runDir = path.join(dir, 'run');

  const startDftWorker = () => {
    const w = execa(process.execPath, [cli, 'worker', '--queues', 'dft', '--slots', 'dft=2', '--grace', '1'], {
      env: { ...process.env, PW_COUNT_FILE: countFile },
      reject: false,
    });
    workers.push(w);
    return w;
  };

  beforeAll(async () => {
    useTestServerEnv();
    stopInProcess = await startTestWorkers(['control', 'ml']);
  });
  afterAll(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await stopInProcess?.();
  });

  it('finishes the campaign without recomputing a finished label', { timeout: 30 * 60_000 }, async () => {
    const loaded = loadCampaignFile('test/fixtures/campaigns/tiny-si.yaml');
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const raw = { ...loaded.raw, run_directory: runDir, budgets: { dft_total: 12, dft_per_generation: 3, max_generations: 1 }, dft: { ...(loaded.raw.dft as object), command: wrapper } };
    const client = await testClient();
    const first = startDftWorker();
    const h = await client.workflow.start(campaignWorkflow, { taskQueue: TaskQueues.control, workflowId: `kill-${Date.now()}`, args: [raw] });

    // Wait until some labels are finished and others are still running, then SIGKILL the worker.
    let before = new Map<string, number>();
    for (let i = 0; i < 1200; i++) {
      before = finishedLabels(runDir);
      if (before.size >= 2) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(before.size).toBeGreaterThanOrEqual(2);
    first.kill('SIGKILL');
    expect((await first).signal).toBe('SIGKILL');
    const startsAtKill = readFileSync(countFile, 'utf8').trim().split('\n').length;
    startDftWorker();

    const outcome = await h.result();
    expect(outcome.stopReason).toMatch(/generation limit reached \(1\)|converged|budget/);
    expect(outcome.dft.failed).toBe(0);
    const after = finishedLabels(runDir);
    for (const [id, mtime] of before) expect(after.get(id)).toBe(mtime); // never rewritten
    // pw.x starts per structure: exactly one for every label finished before the kill.
    const starts = readFileSync(countFile, 'utf8').trim().split('\n').map((l) => l.split(' ')[1]!.split(path.sep).slice(-3)[0]!); // dft/<id>/<job key>/attempt-n
    for (const id of before.keys()) expect(starts.filter((s) => s === id)).toHaveLength(1);
    expect(starts.length).toBeGreaterThan(startsAtKill); // the restarted worker did the rest
    expect(after.size).toBe(outcome.dft.labelled);
  });
});

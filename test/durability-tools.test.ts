// A real `autopipe worker` process is SIGKILLed while every kind of tool runs under it: pw.x (and the
// DFT helper), mace_run_train, pacemaker; then the MD helper and the MACE helper server. Within 10 s no
// process it started is alive (the reaper, activities/runtime/reaper.ts); a restarted worker finishes
// every activity, with no retry used up (heartbeat timeouts are infrastructure), the MACE training resumed
// from its checkpoint, the fit from its interim potential, and the DFT label not counted as healed.
// The kill is also made to land in Pacemaker's rewrite of its interim potential (the file left empty, as
// a CI run once caught by chance): the fit resumes from the whole copy kept aside while it ran.
import { execa, type ResultPromise } from 'execa';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import { DftSchema, ExplorationSchema } from '../common/campaign-schema';
import { TaskQueues } from '../common/queues';
import { projectRoot, pythonExe } from '../host/paths';
import { latestCheckpointEpoch, type MaceTrainResult } from '../activities/mace/train';
import type { FitResult } from '../activities/ace/fit';
import type { DftLabel, DftLabelRef } from '../activities/dft/qe';
import type { ExploreOutput } from '../activities/md/explore';
import type { MaceLabelBatchResult } from '../activities/mace/label';
import { singleActivityWorkflow, type SingleActivityInput } from '../workflows/single-activity';
import { cuTraining, emtDataset } from './fixtures/training/data';
import { descendants, gone, until } from './helpers/processes';
import { structureIds } from './helpers/python';
import { startTestWorkers, testClient } from './helpers/temporal';

const cli = path.join(projectRoot, 'bin', 'autopipe.mjs');
const wrapper = path.join(projectRoot, 'test', 'fixtures', 'pw-counting.sh');

describe('a worker SIGKILLed under every tool', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-durable-'));
  const countFile = path.join(dir, 'pw-starts.txt');
  const workers: ResultPromise[] = [];
  let stopControl: () => Promise<void>;

  const startWorker = () => {
    const w = execa(process.execPath, [cli, 'worker', '--queues', 'dft,ml', '--slots', 'dft=1,ml=3', '--grace', '1'], {
      env: { ...process.env, PW_COUNT_FILE: countFile },
      reject: false,
    });
    workers.push(w);
    return w;
  };
  const run = async (id: string, input: SingleActivityInput): Promise<WorkflowHandle<typeof singleActivityWorkflow>> =>
    (await testClient()).workflow.start(singleActivityWorkflow, { taskQueue: TaskQueues.control, workflowId: `${id}-${Date.now()}`, args: [input] });
  /** SIGKILL the worker; every process it started must be gone within 10 s. */
  const killAndCheck = async (w: ResultPromise, expectTools: RegExp[]) => {
    const tree = descendants(w.pid!);
    for (const re of expectTools) expect(tree.map((p) => p.cmd).join('\n')).toMatch(re);
    w.kill('SIGKILL');
    await w;
    return gone(tree.map((p) => p.pid), 10);
  };

  beforeAll(async () => {
    stopControl = await startTestWorkers(['control']);
  });
  afterAll(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await stopControl?.();
  });

  it('pw.x, mace_run_train and pacemaker die with it; the restarted worker resumes each, no retry used', { timeout: 30 * 60_000 }, async () => {
    const cells = path.join(dir, 'si.extxyz');
    await execa(pythonExe, [path.join(projectRoot, 'test', 'fixtures', 'si_cells.py'), cells]);
    const pckl = await emtDataset(dir, 'cu', { count: 24, seed: 5, extxyz: true });
    const train = path.join(dir, 'cu-ref.extxyz'); // MACE reads REF_* keys
    await execa(pythonExe, ['-c', `from ase.io import read, write
fs = read(${JSON.stringify(path.join(dir, 'cu.extxyz'))}, ":")
for a in fs:
    a.info["REF_energy"] = a.get_potential_energy(); a.arrays["REF_forces"] = a.get_forces(); a.info["REF_stress"] = a.get_stress(); a.calc = None
write(${JSON.stringify(train)}, fs)`]);

    const w1 = startWorker();
    const runDir = path.join(dir, 'run');
    const dft = DftSchema.parse({ pseudopotentials: { Si: 'Si.pz-vbc.UPF' }, ecutwfc: 24, smearing: 'none', kspacing: 0.05, command: wrapper });
    const maceDir = path.join(dir, 'mace');
    const hMace = await run('mace', { queue: 'ml', activity: 'trainMace', args: [{ outDir: maceDir, name: 'm0', trainFile: train, seed: 3, maxEpochs: 50, validFraction: 0.2, batchSize: 4 }] });
    const fitDir = path.join(dir, 'fit');
    const hFit = await run('fit', { queue: 'ml', activity: 'fitAce', args: [{ outDir: fitDir, datasetFile: pckl, elements: ['Cu'], training: cuTraining({ maxiter: 30 }), seed: 1, displayStep: 10 }] });

    // Kill once the training has a checkpoint and the fit a few iterations behind it, with pw.x running.
    await until('a MACE checkpoint and fit iterations', () => {
      const epochs = latestCheckpointEpoch(path.join(maceDir, 'train-m0'));
      const metrics = path.join(fitDir, 'fit', 'metrics.txt');
      const iters = existsSync(metrics) ? readFileSync(metrics, 'utf8').trim().split('\n').length - 1 : 0;
      return epochs !== undefined && iters >= 3;
    });
    // Freeze both where they are: under load the fit once finished all its iterations while pw.x started,
    // leaving nothing to resume (the reaper's SIGKILL ends stopped processes as well).
    const frozen = descendants(w1.pid!).filter((p) => /mace_run_train|pacemaker/.test(p.cmd));
    for (const p of frozen) process.kill(p.pid, 'SIGSTOP');
    for (const re of [/mace_run_train/, /pacemaker/]) expect(frozen.some((p) => re.test(p.cmd)), String(re)).toBe(true);
    const hDft = await run('dft', { queue: 'dft', activity: 'dftLabel', args: [{ runDir, structureId: (await structureIds(cells))[1]!, structureFile: cells, index: 1, dft }] });
    await until('a running pw.x', () => descendants(w1.pid!).some((p) => /pw\.x/.test(p.cmd)), 120);
    const seconds = await killAndCheck(w1, [/pw\.x/, /mace_run_train/, /pacemaker/, /helper_server/, /reaper\.sh/]);
    expect(seconds).toBeLessThan(10);
    const kept = JSON.parse(readFileSync(path.join(fitDir, 'fit', 'interim-whole.json'), 'utf8')) as { iterations: number };
    expect(kept.iterations).toBeGreaterThanOrEqual(1);
    expect(kept.iterations).toBeLessThan(30); // iterations were left to resume
    writeFileSync(path.join(fitDir, 'fit', 'interim_potential_0.yaml'), ''); // cut mid-rewrite
    startWorker();

    const [label, mace, fit] = (await Promise.all([hDft.result(), hMace.result(), hFit.result()])) as [DftLabelRef, MaceTrainResult, FitResult];
    const prov = (JSON.parse(readFileSync(label.labelFile, 'utf8')) as DftLabel).provenance;
    expect(prov).toMatchObject({ healed: false, genuine_failures: 0, rung: 'default' });
    expect(prov.temporal_attempt).toBeGreaterThanOrEqual(2); // retried after the heartbeat timeout
    expect(mace.resumedFromEpoch).toBeGreaterThanOrEqual(0);
    expect(readFileSync(path.join(maceDir, 'm0.log'), 'utf8')).toMatch(/--restart_latest/);
    expect(fit.resumedAfterIterations).toBe(kept.iterations);
    expect(fit.metrics.iterations).toBe(30);
    // Finished work is kept: asking again returns the finished training without running it.
    const again = (await (await run('mace-again', { queue: 'ml', activity: 'trainMace', args: [{ outDir: maceDir, name: 'm0', trainFile: train, seed: 3, maxEpochs: 50, validFraction: 0.2, batchSize: 4 }] })).result()) as MaceTrainResult;
    expect(again).toMatchObject({ reused: true, model: mace.model });
    const last = workers.at(-1)!; // phase 2 kills its own worker: this one must not take its work
    last.kill('SIGTERM');
    await last;
    writeFileSync(path.join(dir, 'phase1.json'), JSON.stringify({ mace, fit }));
  });

  it('the MD helper and the MACE helper server die with it too; the restarted worker finishes both', { timeout: 20 * 60_000 }, async () => {
    const { mace, fit } = JSON.parse(readFileSync(path.join(dir, 'phase1.json'), 'utf8')) as { mace: MaceTrainResult; fit: FitResult };
    const starts = path.join(dir, 'md-starts.extxyz');
    const pool = path.join(dir, 'pool.extxyz');
    await execa(pythonExe, ['-c', `from ase.build import bulk; from ase.io import write
a = bulk("Cu", "fcc", a=3.61, cubic=True)
starts = []
for i in range(4):
    b = a.repeat((2, 2, 2)); b.rattle(0.02, seed=100 + i); starts.append(b)
write(${JSON.stringify(starts)}, starts)
fs = []
for i in range(2000):
    b = a.repeat((2, 2, 2)); b.rattle(0.03, seed=i); fs.append(b)
write(${JSON.stringify(pool)}, fs)`]);
    const w2 = startWorker();
    const exploration = ExplorationSchema.parse({ temperatures: [300], pressures: [0], steps: 10000, supercell: [1, 1, 1], gamma_select: 50, gamma_halt: 100 });
    const hMd = await run('md', { queue: 'ml', activity: 'exploreMd', args: [{ outDir: path.join(dir, 'md'), potential: fit.potentialYaml, activeSet: fit.asi, startStructures: starts, exploration, minDistance: 1.5, seed: 1 }] });
    const ids = await structureIds(pool);
    const hLabel = await run('label', { queue: 'ml', activity: 'maceLabelBatch', args: [{ runDir: path.join(dir, 'label'), structureFile: pool, ids, oracle: { kind: 'mace', models: [mace.model] } }] });
    await until('the MD helper and a busy MACE helper server', () => {
      const cmds = descendants(w2.pid!).map((p) => p.cmd).join('\n');
      return /md-explore/.test(cmds) && /helper_server --idle \S+ --torch/.test(cmds) && existsSync(path.join(dir, 'label', 'mace', 'logs', 'mace-label.log'));
    });
    await new Promise((r) => setTimeout(r, 3000)); // both well inside their work
    expect(await killAndCheck(w2, [/md-explore/, /helper_server.*--torch/])).toBeLessThan(10);
    startWorker();
    const [md, labels] = (await Promise.all([hMd.result(), hLabel.result()])) as [ExploreOutput, MaceLabelBatchResult];
    expect(md.trajectories).toHaveLength(4);
    expect(labels.items).toHaveLength(2000);
  });
});

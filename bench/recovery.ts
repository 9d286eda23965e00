// Recovery after a worker crash, per crash kind: an `autopipe worker` process (all queues) is SIGKILLed
// while one activity runs (pw.x, MACE training, a Pacemaker fit, MD, MACE labelling, a control activity),
// a new worker is started at once, and we measure, from the SIGKILL:
//   retry   when the server scheduled the next attempt (after the heartbeat timeout and the 1-s backoff:
//           the pending activity's scheduledTime)
//   stall   when the activity ran again on the restarted worker (its next attempt's lastStartedTime)
//   ready   when the restarted worker could take work ("worker: ready" on its stdout)
//   orphans when the last process the killed worker had started was gone
// and that the activity then finished. Target: stall <= 60 s plus worker start.
// Usage: npx tsx bench/recovery.ts [--kinds pw,mace-train,fit,md,mace-label,control]
//        (a private dev server on AUTOPIPE_TEMPORAL_PORT, default 7320; results in bench/recovery-results.json)
import { execa, type ResultPromise } from 'execa';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { DftSchema, ExplorationSchema, GenerationSchema, SystemSchema, TrainingSchema } from '../common/campaign-schema';
import { TaskQueues } from '../common/queues';
import { connectClient } from '../host/connections';
import { projectRoot, pythonExe } from '../host/paths';
import { startServer, stopServer } from '../host/server';
import { temporalSettings } from '../host/temporal-config';
import type { FitResult } from '../activities/ace/fit';
import type { MaceTrainResult } from '../activities/mace/train';
import { singleActivityWorkflow, type SingleActivityInput } from '../workflows/single-activity';
import { descendants, gone, until } from '../test/helpers/processes';
import { structureIds } from './si-cells';

const args = process.argv.slice(2);
const allKinds = ['pw', 'mace-train', 'fit', 'md', 'mace-label', 'control'] as const;
type Kind = (typeof allKinds)[number];
const kindsArg = args[args.indexOf('--kinds') + 1];
const kinds: Kind[] = args.includes('--kinds') && kindsArg ? (kindsArg.split(',') as Kind[]) : [...allKinds];
const env = {
  AUTOPIPE_TEMPORAL_PORT: process.env.AUTOPIPE_TEMPORAL_PORT ?? '7320',
  AUTOPIPE_TEMPORAL_UI_PORT: process.env.AUTOPIPE_TEMPORAL_UI_PORT ?? '8320',
  TEMPORAL_NAMESPACE: 'recovery-bench',
};
Object.assign(process.env, env);
delete process.env.TEMPORAL_ADDRESS;
const settings = temporalSettings(process.env);
const work = mkdtempSync(path.join(os.tmpdir(), 'autopipe-bench-recovery-'));
const stateDir = path.join(work, 'state');
const cli = path.join(projectRoot, 'bin', 'autopipe.mjs');

interface Worker {
  proc: ResultPromise;
  spawnedAt: number;
  readyAt?: number;
}
function startWorker(): Worker {
  const proc = execa(process.execPath, [cli, 'worker', '--queues', 'control,dft,ml', '--slots', 'control=4,dft=1,ml=1', '--grace', '1'], { env: { ...process.env }, reject: false, buffer: false });
  const w: Worker = { proc, spawnedAt: Date.now() };
  proc.stdout?.on('data', (b: Buffer) => {
    if (!w.readyAt && b.toString().includes('worker: ready')) w.readyAt = Date.now();
  });
  return w;
}

async function py(code: string) {
  await execa(pythonExe, ['-c', code]);
}

/** The data every kind needs, made once. */
async function prepare() {
  const cells = path.join(work, 'si.extxyz');
  await execa(pythonExe, [path.join(projectRoot, 'test', 'fixtures', 'si_cells.py'), cells]);
  const pckl = path.join(work, 'cu.pckl.gzip');
  const xyz = path.join(work, 'cu.extxyz');
  await execa(pythonExe, [path.join(projectRoot, 'test', 'fixtures', 'training', 'emt_dataset.py'), '--out', pckl, '--extxyz', xyz, '--count', '24', '--seed', '5']);
  const train = path.join(work, 'cu-ref.extxyz');
  const starts = path.join(work, 'md-starts.extxyz');
  const pool = path.join(work, 'pool.extxyz');
  await py(`from ase.build import bulk
from ase.io import read, write
fs = read(${JSON.stringify(xyz)}, ":")
for a in fs:
    a.info["REF_energy"] = a.get_potential_energy(); a.arrays["REF_forces"] = a.get_forces(); a.info["REF_stress"] = a.get_stress(); a.calc = None
write(${JSON.stringify(train)}, fs)
a = bulk("Cu", "fcc", a=3.61, cubic=True)
starts = []
for i in range(4):
    b = a.repeat((2, 2, 2)); b.rattle(0.02, seed=100 + i); starts.append(b)
write(${JSON.stringify(starts)}, starts)
pool = []
for i in range(4000):
    b = a.repeat((2, 2, 2)); b.rattle(0.03, seed=i); pool.append(b)
write(${JSON.stringify(pool)}, pool)`);
  return { cells, pckl, train, starts, pool, cellIds: await structureIds(cells), poolIds: await structureIds(pool) };
}

interface Row {
  kind: Kind;
  activity: string;
  retryScheduledS: number;
  stallS: number;
  workerReadyS?: number;
  orphansGoneS: number;
  attemptsAfter: number;
  finishedS: number;
}

async function measure(client: Client, kind: Kind, input: SingleActivityInput, inWork: (tree: string) => boolean, worker: Worker): Promise<{ row: Row; result: unknown; next: Worker }> {
  const h: WorkflowHandle<typeof singleActivityWorkflow> = await client.workflow.start(singleActivityWorkflow, { taskQueue: TaskQueues.control, workflowId: `recovery-${kind}-${Date.now()}`, args: [input] });
  await until(`${kind} in work`, () => inWork(descendants(worker.proc.pid!).map((p) => p.cmd).join('\n')), 900);
  await new Promise((r) => setTimeout(r, 3000)); // well inside its work
  const tree = descendants(worker.proc.pid!).map((p) => p.pid);
  const killedAt = Date.now();
  worker.proc.kill('SIGKILL');
  await worker.proc;
  const next = startWorker();
  const orphansGoneS = await gone(tree, 30);
  let retryS = NaN;
  let stallS = NaN;
  let attemptsAfter = 1;
  for (;;) {
    const d = await h.describe();
    const pa = d.raw.pendingActivities?.[0];
    if (d.status.name !== 'RUNNING') break;
    if (pa && (pa.attempt ?? 1) >= 2) {
      const scheduled = pa.scheduledTime;
      if (scheduled?.seconds) retryS = Number(scheduled.seconds) + (scheduled.nanos ?? 0) / 1e9 - killedAt / 1000;
      if (String(pa.state) === 'PENDING_ACTIVITY_STATE_STARTED' || pa.state === 2) {
        const started = pa.lastStartedTime;
        stallS = Number(started?.seconds ?? 0) + (started?.nanos ?? 0) / 1e9 - killedAt / 1000;
        attemptsAfter = pa.attempt ?? 2;
        break;
      }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const result = await h.result();
  const row: Row = {
    kind,
    activity: input.activity,
    retryScheduledS: Number(retryS.toFixed(1)),
    stallS: Number(stallS.toFixed(1)),
    workerReadyS: next.readyAt ? Number(((next.readyAt - killedAt) / 1000).toFixed(1)) : undefined,
    orphansGoneS: Number(orphansGoneS.toFixed(2)),
    attemptsAfter,
    finishedS: Number(((Date.now() - killedAt) / 1000).toFixed(1)),
  };
  console.log(JSON.stringify(row));
  return { row, result, next };
}

await startServer({ settings, stateDir, headless: true });
const client = await connectClient(settings);
const rows: Row[] = [];
let worker = startWorker();
try {
  const data = await prepare();
  const dft = DftSchema.parse({ pseudopotentials: { Si: 'Si.pz-vbc.UPF' }, ecutwfc: 24, smearing: 'none', kspacing: 0.05 });
  const cu = TrainingSchema.parse({ cutoff: 5, number_of_functions_per_element: 20, lmax: 2, nradmax: 4, maxiter: 40, reference_energies: { Cu: 0 } });
  let model: string | undefined;
  let fit: FitResult | undefined;
  const run = async (kind: Kind, input: SingleActivityInput, inWork: (tree: string) => boolean) => {
    const m = await measure(client, kind, input, inWork, worker);
    worker = m.next;
    rows.push(m.row);
    return m.result;
  };
  for (const kind of kinds) {
    if (kind === 'pw') {
      await run(kind, { queue: 'dft', activity: 'dftLabel', args: [{ runDir: path.join(work, 'dft'), structureId: data.cellIds[1]!, structureFile: data.cells, index: 1, dft }] }, (t) => /pw\.x/.test(t));
    } else if (kind === 'mace-train') {
      const r = (await run(kind, { queue: 'ml', activity: 'trainMace', args: [{ outDir: path.join(work, 'mace'), name: 'm0', trainFile: data.train, seed: 3, maxEpochs: 30, validFraction: 0.2, batchSize: 4 }] }, (t) => /mace_run_train/.test(t))) as MaceTrainResult;
      model = r.model;
    } else if (kind === 'fit') {
      fit = (await run(kind, { queue: 'ml', activity: 'fitAce', args: [{ outDir: path.join(work, 'fit'), datasetFile: data.pckl, elements: ['Cu'], training: cu, seed: 1, displayStep: 10 }] }, (t) => /pacemaker/.test(t))) as FitResult;
    } else if (kind === 'md') {
      if (!fit) throw new Error('md needs the fit kind first (a potential with an active set)');
      const exploration = ExplorationSchema.parse({ temperatures: [300], pressures: [0], steps: 10000, supercell: [1, 1, 1], gamma_select: 50, gamma_halt: 100 });
      await run(kind, { queue: 'ml', activity: 'exploreMd', args: [{ outDir: path.join(work, 'md'), potential: fit.potentialYaml, activeSet: fit.asi, startStructures: data.starts, exploration, minDistance: 1.5, seed: 1 }] }, (t) => /md-explore/.test(t));
    } else if (kind === 'mace-label') {
      if (!model) throw new Error('mace-label needs the mace-train kind first (a model)');
      const ids = data.poolIds;
      await run(kind, { queue: 'ml', activity: 'maceLabelBatch', args: [{ runDir: path.join(work, 'label'), structureFile: data.pool, ids, oracle: { kind: 'mace', models: [model] } }] }, (t) => /helper_server.*--torch/.test(t) && existsSync(path.join(work, 'label', 'mace', 'logs', 'mace-label.log')));
    } else if (kind === 'control') {
      const system = SystemSchema.parse({ name: 'Si', elements: ['Si'], prototype: { kind: 'diamond', a: 5.43, cubic: true } });
      const generation = GenerationSchema.parse({ rattle_sigma: 0.05, min_distance: 1.5 });
      await run(kind, { queue: 'control', activity: 'generateStructures', args: [{ runDir: path.join(work, 'control'), name: 'many', system, generation, count: 30000, seed: 1, returnIds: false }] }, (t) => /structures-generate/.test(t));
    }
  }
} finally {
  worker.proc.kill('SIGTERM');
  await worker.proc;
  await client.connection.close();
  await stopServer({ stateDir });
  rmSync(work, { recursive: true, force: true });
}

const load = os.loadavg().map((x) => Number(x.toFixed(2)));
const table = [
  '| crash during | activity | retry scheduled (s) | running again (s) | restarted worker ready (s) | orphans gone (s) |',
  '| --- | --- | --- | --- | --- | --- |',
  ...rows.map((r) => `| ${r.kind} | ${r.activity} | ${r.retryScheduledS} | ${r.stallS} | ${r.workerReadyS ?? 'n/a'} | ${r.orphansGoneS} |`),
];
console.log(`\n${os.cpus().length} cores, load ${load.join(' ')}, ${new Date().toISOString()}\n${table.join('\n')}`);
const out = path.join(projectRoot, 'bench', 'recovery-results.json');
const previous = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : {};
// Kinds can be measured apart (--kinds): each row says which run measured it; the top level, the last run.
const command = `npx tsx bench/recovery.ts${args.length ? ` ${args.join(' ')}` : ''}`;
const date = new Date().toISOString();
writeFileSync(
  out,
  JSON.stringify({ ...previous, command, date, cores: os.cpus().length, load, heartbeatTimeoutS: 30, rows: [...(previous.rows ?? []).filter((r: Row) => !kinds.includes(r.kind)), ...rows.map((r) => ({ ...r, measured: { command, date, load } }))] }, null, 1) + '\n',
);

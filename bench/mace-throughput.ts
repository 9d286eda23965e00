// MACE labelling throughput: N structures through maceLabelWorkflow (batches of maceLabelBatch on the ml
// queue, the worker's long-lived helper server, one label file per structure) against a direct Python loop
// over the same structures and models, on a private dev server. Ratio = direct time / workflow time
// (throughput of the workflow relative to the loop; target >= 0.95).
//   - loop "engine": the batched engine the activity uses, called directly (pure orchestration overhead)
//   - loop "calc":   MACECalculator, one structure per call (the loop a user would write)
//   - warm: models already loaded on both sides (steady state); cold: from a fresh Python process
//   - "process per batch" (AUTOPIPE_MACE_SERVER=off): what the long-lived server saves
// Models: a 2-member 16x0e committee trained here on EMT-labelled Cu cells (no DFT, nothing downloaded),
// cached in $TMPDIR/autopipe-bench-mace-models; or --models a.model,b.model.
// Usage: npx tsx bench/mace-throughput.ts [--n 2000] [--batch 250] [--models a,b] [--skip-calc]   (BENCH_REPS=3)
import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { trainMace } from '../activities/mace/train';
import { maceServer } from '../activities/runtime/helper-server';
import { connectClient } from '../host/connections';
import { pythonExe, pythonPath, projectRoot } from '../host/paths';
import { TaskQueues } from '../common/queues';
import { temporalSettings } from '../host/temporal-config';
import { startServer, stopServer } from '../host/server';
import { createWorkers } from '../workers/worker';
import { maceLabelWorkflow } from '../workflows/teacher';

const { values } = parseArgs({ options: { n: { type: 'string' }, batch: { type: 'string' }, models: { type: 'string' }, 'skip-calc': { type: 'boolean' } } });
const N = Number(values.n ?? 2000);
const BATCH = Number(values.batch ?? 250);
const work = mkdtempSync(path.join(os.tmpdir(), 'autopipe-bench-mace-'));
const script = path.join(projectRoot, 'bench', 'mace_direct.py');
const env = { PYTHONPATH: pythonPath, OMP_NUM_THREADS: '1', TF_CPP_MIN_LOG_LEVEL: '3' };
const py = async (args: string[]) => (await execa(pythonExe, [script, ...args], { env })).stdout.trim().split('\n').pop()!;

async function benchModels(): Promise<string[]> {
  if (values.models) return values.models.split(',');
  const dir = path.join(os.tmpdir(), 'autopipe-bench-mace-models');
  const models = [0, 1].map((k) => path.join(dir, `member-${k}.model`));
  if (models.every((m) => existsSync(m))) return models;
  mkdirSync(dir, { recursive: true });
  const data = path.join(dir, 'emt-cu.extxyz');
  await py(['emt-data', data, '40', '1']);
  for (const [k] of models.entries()) {
    await trainMace({ outDir: dir, name: `member-${k}`, trainFile: data, seed: 11 + k, maxEpochs: 20, batchSize: 4, validFraction: 0.1, energyWeight: 10 });
  }
  return models;
}

interface Loop { mode: string; n: number; imports_s: number; read_s: number; load_s: number; loop_s: number; process_s: number }

async function directLoop(mode: 'engine' | 'calc', file: string, models: string[]): Promise<Loop & { wall_s: number }> {
  const t0 = performance.now();
  const out = JSON.parse(await py(['loop', mode, file, ...models])) as Loop;
  return { ...out, wall_s: (performance.now() - t0) / 1000 };
}

const models = await benchModels();
const file = path.join(work, 'cells.extxyz');
const ids = JSON.parse(await py(['structures', file, String(N), '2024'])) as string[];
console.error(`${N} 8-atom Cu cells, committee ${models.join(', ')}, batch ${BATCH}`);

// Through Temporal on a private server (never the developer's 7233).
const port = '37233';
Object.assign(process.env, { AUTOPIPE_TEMPORAL_PORT: port, AUTOPIPE_TEMPORAL_UI_PORT: '38233', TEMPORAL_NAMESPACE: 'bench' });
delete process.env.TEMPORAL_ADDRESS;
const settings = temporalSettings();
const stateDir = path.join(work, 'state');
await startServer({ settings, stateDir, headless: true });
const client = await connectClient(settings);
const workers = await createWorkers({ queues: ['control', 'ml'], slots: { ml: 2 } });
const running = workers.map((w) => w.run());
let runs = 0;

async function viaWorkflow(batch: number, window = 2): Promise<number> {
  const runDir = path.join(work, `run-${runs++}`); // a fresh run directory: nothing is reused
  const t0 = performance.now();
  const r = await client.workflow.execute(maceLabelWorkflow, {
    taskQueue: TaskQueues.control,
    workflowId: `bench-mace-${runs}-${Date.now()}`,
    args: [{ runDir, structureFile: file, ids, teacher: { models, batch_size: batch }, window }],
  });
  const wall = (performance.now() - t0) / 1000;
  if (r.labelled + r.flagged !== N || r.reused !== 0) throw new Error(`${r.labelled} labelled, ${r.reused} reused of ${N}`);
  rmSync(runDir, { recursive: true, force: true });
  return wall;
}

// The machine is shared: measurements alternate (direct, workflow, direct, ...) and the best and the
// median of REPS runs are reported, so a burst of someone else's load hits both sides alike.
const REPS = Number(process.env.BENCH_REPS ?? 3);
const direct: (Loop & { wall_s: number })[] = [];
const warm: Record<number, number[]> = {};
let cold = 0;
let calc: (Loop & { wall_s: number }) | undefined;
let window1 = 0;
let perBatch = 0;
try {
  cold = await viaWorkflow(BATCH); // the helper server starts (imports torch, loads models) inside
  const startsAfterCold = maceServer().starts;
  for (let rep = 0; rep < REPS; rep++) {
    direct.push(await directLoop('engine', file, models));
    for (const b of [...new Set([64, BATCH])]) (warm[b] ??= []).push(await viaWorkflow(b));
  }
  window1 = await viaWorkflow(BATCH, 1);
  if (maceServer().starts !== startsAfterCold) throw new Error('the helper server restarted during the warm runs');
  if (!values['skip-calc']) calc = await directLoop('calc', file, models);
  process.env.AUTOPIPE_MACE_SERVER = 'off';
  perBatch = await viaWorkflow(BATCH);
  delete process.env.AUTOPIPE_MACE_SERVER;
} finally {
  workers.forEach((w) => w.shutdown());
  await Promise.allSettled(running);
  await client.connection.close();
  await stopServer({ stateDir });
  maceServer().close();
}

const min = (xs: number[]) => Math.min(...xs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const directWarm = direct.map((d) => d.read_s + d.loop_s);
const wfBest = min(warm[BATCH]!);
const wfMedian = median(warm[BATCH]!);
const calcWarm = calc ? calc.read_s + calc.loop_s : undefined;
const rate = (t: number) => `${(N / t).toFixed(0)} structures/s`;
const lines = [
  `# MACE labelling throughput, ${N} structures (8-atom Cu, 2-member 16x0e committee, float64, 1 thread), ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}, ${new Date().toISOString()}`,
  `direct loop, batched engine (warm = read + label, models loaded): best ${min(directWarm).toFixed(2)} s, median ${median(directWarm).toFixed(2)} s -> ${rate(min(directWarm))}; whole process (cold) best ${min(direct.map((d) => d.wall_s)).toFixed(2)} s`,
  calc ? `direct loop, MACECalculator one structure per call (warm): ${calcWarm!.toFixed(2)} s -> ${rate(calcWarm!)}` : 'direct loop, MACECalculator: skipped',
  ...Object.entries(warm).map(([b, xs]) => `workflow warm, batch ${b}, 2 in flight: best ${min(xs).toFixed(2)} s, median ${median(xs).toFixed(2)} s -> ${rate(min(xs))}`),
  `workflow warm, batch ${BATCH}, 1 in flight: ${window1.toFixed(2)} s -> ${rate(window1)}`,
  `workflow cold (helper server starts inside): ${cold.toFixed(2)} s -> ${rate(cold)}`,
  `workflow, one Python process per batch (AUTOPIPE_MACE_SERVER=off), batch ${BATCH}: ${perBatch.toFixed(2)} s -> ${rate(perBatch)}`,
  `RATIO warm, workflow vs direct batched engine: best/best ${(min(directWarm) / wfBest).toFixed(3)}, median/median ${(median(directWarm) / wfMedian).toFixed(3)}`,
  calc ? `ratio warm, workflow vs direct MACECalculator loop: ${(calcWarm! / wfBest).toFixed(3)}` : '',
  `ratio cold, workflow incl. helper start vs whole direct process: ${(min(direct.map((d) => d.wall_s)) / cold).toFixed(3)}`,
  `ratio, one process per batch vs direct batched engine: ${(min(directWarm) / perBatch).toFixed(3)}`,
].filter(Boolean);
console.log(lines.join('\n'));
writeFileSync(path.join(projectRoot, 'bench', 'mace-results.json'), JSON.stringify({ n: N, batch: BATCH, reps: REPS, models, direct, calc, workflow: { warm, cold, window1, perBatch }, at: new Date().toISOString(), load: os.loadavg() }, null, 1));
rmSync(work, { recursive: true, force: true });

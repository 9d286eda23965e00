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
// Usage: npx tsx bench/mace-throughput.ts [--n 2000] [--batch 250] [--models a,b] [--skip-calc]
import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { trainMace } from '../activities/mace';
import { maceServer } from '../activities/mace-server';
import { connectClient } from '../common/connections';
import { pythonExe, pythonHelpersDir, projectRoot } from '../common/paths';
import { TaskQueues } from '../common/queues';
import { temporalSettings } from '../common/temporal-config';
import { startServer, stopServer } from '../scripts/server';
import { createWorkers } from '../workers/worker';
import { maceLabelWorkflow } from '../workflows/teacher';

const { values } = parseArgs({ options: { n: { type: 'string' }, batch: { type: 'string' }, models: { type: 'string' }, 'skip-calc': { type: 'boolean' } } });
const N = Number(values.n ?? 2000);
const BATCH = Number(values.batch ?? 250);
const work = mkdtempSync(path.join(os.tmpdir(), 'autopipe-bench-mace-'));
const script = path.join(projectRoot, 'bench', 'mace_direct.py');
const env = { PYTHONPATH: pythonHelpersDir, OMP_NUM_THREADS: '1', TF_CPP_MIN_LOG_LEVEL: '3' };
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

// Direct loops (each a fresh process): warm = read + loop (models loaded), cold = whole process.
const engine = [await directLoop('engine', file, models), await directLoop('engine', file, models)].sort((a, b) => a.read_s + a.loop_s - (b.read_s + b.loop_s))[0]!;
const calc = values['skip-calc'] ? undefined : await directLoop('calc', file, models);

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
const teacher = (batch: number) => ({ models, batch_size: batch });

async function viaWorkflow(name: string, batch: number, window = 2): Promise<number> {
  const runDir = path.join(work, name);
  const t0 = performance.now();
  const r = await client.workflow.execute(maceLabelWorkflow, {
    taskQueue: TaskQueues.control,
    workflowId: `bench-mace-${name}-${Date.now()}`,
    args: [{ runDir, structureFile: file, ids, teacher: teacher(batch), window }],
  });
  const wall = (performance.now() - t0) / 1000;
  if (r.labelled + r.flagged !== N || r.reused !== 0) throw new Error(`${name}: ${r.labelled} labelled, ${r.reused} reused of ${N}`);
  return wall;
}

const rows: Record<string, number> = {};
try {
  rows.cold = await viaWorkflow('cold', BATCH); // the helper server starts (imports torch, loads models) inside
  const startsAfterCold = maceServer().starts;
  for (const b of [...new Set([64, BATCH])]) rows[`warm-b${b}`] = Math.min(await viaWorkflow(`warm-b${b}-1`, b), await viaWorkflow(`warm-b${b}-2`, b));
  rows[`warm-b${BATCH}-window1`] = await viaWorkflow(`warm-w1`, BATCH, 1);
  if (maceServer().starts !== startsAfterCold) throw new Error('the helper server restarted during the warm runs');
  process.env.AUTOPIPE_MACE_SERVER = 'off';
  rows[`process-per-batch-b${BATCH}`] = await viaWorkflow('off', BATCH);
  delete process.env.AUTOPIPE_MACE_SERVER;
} finally {
  workers.forEach((w) => w.shutdown());
  await Promise.allSettled(running);
  await client.connection.close();
  await stopServer({ stateDir });
  maceServer().close();
}

const warmDirect = engine.read_s + engine.loop_s;
const warmCalc = calc ? calc.read_s + calc.loop_s : undefined;
const bestWarm = Math.min(...Object.entries(rows).filter(([k]) => k.startsWith('warm-b') && !k.includes('window')).map(([, v]) => v));
const lines = [
  `# MACE labelling throughput, ${N} structures (8-atom Cu, 2-member 16x0e committee, float64, 1 thread), ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}, ${new Date().toISOString()}`,
  `direct loop, batched engine: ${warmDirect.toFixed(2)} s warm (read ${engine.read_s.toFixed(2)} + label ${engine.loop_s.toFixed(2)}), ${engine.wall_s.toFixed(2)} s cold (whole process) -> ${(N / warmDirect).toFixed(0)} structures/s`,
  calc ? `direct loop, MACECalculator: ${warmCalc!.toFixed(2)} s warm, ${calc.wall_s.toFixed(2)} s cold -> ${(N / warmCalc!).toFixed(0)} structures/s` : 'direct loop, MACECalculator: skipped',
  ...Object.entries(rows).map(([k, v]) => `workflow ${k}: ${v.toFixed(2)} s -> ${(N / v).toFixed(0)} structures/s`),
  `ratio warm (workflow best batch vs direct batched engine): ${(warmDirect / bestWarm).toFixed(3)}`,
  calc ? `ratio warm (workflow vs direct MACECalculator loop): ${(warmCalc! / bestWarm).toFixed(3)}` : '',
  `ratio cold (workflow incl. helper start vs whole direct engine process): ${(engine.wall_s / rows.cold!).toFixed(3)}`,
  `ratio process-per-batch vs direct engine (warm): ${(warmDirect / rows[`process-per-batch-b${BATCH}`]!).toFixed(3)}`,
].filter(Boolean);
console.log(lines.join('\n'));
writeFileSync(path.join(projectRoot, 'bench', 'mace-results.json'), JSON.stringify({ n: N, batch: BATCH, models, engine, calc, workflow: rows, at: new Date().toISOString(), load: os.loadavg() }, null, 1));
rmSync(work, { recursive: true, force: true });

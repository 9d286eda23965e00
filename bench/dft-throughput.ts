// 16 Si SCFs through labellingWorkflow at concurrency 1 and 2, on a private dev server:
//  - parallel efficiency = T(1) / (2 x T(2))
//  - orchestration overhead = total wall - sum of pw.x's own WALL times (at concurrency 1)
//  - with --per-call, concurrency 1 again with one Python process per qe-write/qe-read
//    (AUTOPIPE_DFT_SERVER=off): what the worker's long-lived DFT helper saves
// Usage: npx tsx bench/dft-throughput.ts [N=16] [--per-call]   (figures also go to bench/dft-results.json)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DftSchema } from '../common/campaign-schema';
import { connectClient } from '../host/connections';
import { TaskQueues } from '../common/queues';
import { temporalSettings } from '../host/temporal-config';
import { createWorkers } from '../workers/worker';
import { labellingWorkflow } from '../workflows/labelling';
import { startServer, stopServer } from '../host/server';
import { rattledSiCells } from './si-cells';

const args = process.argv.slice(2);
const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 16);
const perCall = args.includes('--per-call');
const work = mkdtempSync(path.join(os.tmpdir(), 'autopipe-bench-dft-'));
const settings = temporalSettings({ AUTOPIPE_TEMPORAL_PORT: '27233', AUTOPIPE_TEMPORAL_UI_PORT: '28233', TEMPORAL_NAMESPACE: 'bench' });
Object.assign(process.env, { AUTOPIPE_TEMPORAL_PORT: '27233', TEMPORAL_NAMESPACE: 'bench' });

const cells = path.join(work, 'si.extxyz');
// Content-hash ids (the store keys structures by content); each run labels in its own run directory.
const ids = await rattledSiCells(cells, n);
const dft = DftSchema.parse({ pseudopotentials: { Si: 'Si.pz-vbc.UPF' }, ecutwfc: 20, smearing: 'none', kspacing: 0.06 });

await startServer({ settings, stateDir: path.join(work, 'state'), headless: true });
const client = await connectClient(settings);
const rows: { mode: string; concurrency: number; wall: number; pwWall: number; perStructure: number }[] = [];
try {
  const runs: { mode: 'server' | 'per-call'; concurrency: number }[] = [
    { mode: 'server', concurrency: 1 },
    { mode: 'server', concurrency: 2 },
    ...(perCall ? [{ mode: 'per-call' as const, concurrency: 1 }] : []),
  ];
  for (const { mode, concurrency } of runs) {
    if (mode === 'per-call') process.env.AUTOPIPE_DFT_SERVER = 'off';
    const workers = await createWorkers({ queues: ['control', 'dft'], slots: { dft: concurrency } });
    const running = workers.map((w) => w.run());
    const runDir = path.join(work, `${mode}-c${concurrency}`);
    const t0 = performance.now();
    const r = await client.workflow.execute(labellingWorkflow, {
      taskQueue: TaskQueues.control,
      workflowId: `bench-dft-${mode}-c${concurrency}-${Date.now()}`,
      args: [{ runDir, dft: { ...dft, concurrency }, structureFile: cells, ids }],
    });
    const wall = (performance.now() - t0) / 1000;
    workers.forEach((w) => w.shutdown());
    await Promise.allSettled(running);
    if (r.labelled !== n) throw new Error(`only ${r.labelled}/${n} labelled`);
    const pwWall = r.labels.reduce((s, l) => s + (JSON.parse(readFileSync(l.labelFile, 'utf8')).provenance.wall_seconds ?? 0), 0);
    rows.push({ mode, concurrency, wall, pwWall, perStructure: wall / n });
    delete process.env.AUTOPIPE_DFT_SERVER;
  }
} finally {
  await client.connection.close();
  await stopServer({ stateDir: path.join(work, 'state') });
}
const [c1, c2] = rows as [(typeof rows)[0], (typeof rows)[0]];
const load = os.loadavg().map((x) => Number(x.toFixed(2)));
const over = (r: (typeof rows)[0]) => `${(r.wall - r.pwWall).toFixed(1)} s total, ${((r.wall - r.pwWall) / n).toFixed(2)} s/structure (${((100 * (r.wall - r.pwWall)) / r.wall).toFixed(0)}% of wall)`;
const lines = [
  `# ${n} Si-8 SCFs (ecutwfc 20 Ry, kspacing 0.06), ${os.cpus().length} cores, load ${load.join(' ')}, ${new Date().toISOString()}`,
  ...rows.map((r) => `${r.mode}, concurrency ${r.concurrency}: wall ${r.wall.toFixed(1)} s, sum of pw.x WALL ${r.pwWall.toFixed(1)} s, ${r.perStructure.toFixed(2)} s/structure`),
  `parallel efficiency T1/(2*T2): ${(c1.wall / (2 * c2.wall)).toFixed(3)}`,
  `orchestration overhead at concurrency 1: ${over(c1)}`,
  ...rows.filter((r) => r.mode === 'per-call').map((r) => `same with one Python process per qe-write/qe-read: ${over(r)}`),
];
console.log(lines.join('\n'));
writeFileSync(path.join(import.meta.dirname, 'dft-results.json'), JSON.stringify({ n, rows, efficiency: c1.wall / (2 * c2.wall), load, at: new Date().toISOString() }, null, 1));
rmSync(work, { recursive: true, force: true });

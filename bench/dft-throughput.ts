// 16 Si SCFs through labellingWorkflow at concurrency 1 and 2, on a private dev server:
//  - parallel efficiency = T(1) / (2 x T(2))
//  - orchestration overhead = total wall - sum of pw.x's own WALL times (at concurrency 1)
// Usage: npx tsx bench/dft-throughput.ts [N=16]
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DftSchema } from '../common/campaign-schema';
import { connectClient } from '../common/connections';
import { pythonExe } from '../common/paths';
import { TaskQueues } from '../common/queues';
import { temporalSettings } from '../common/temporal-config';
import { createWorkers } from '../workers/worker';
import { labellingWorkflow } from '../workflows/labelling';
import { startServer, stopServer } from '../scripts/server';

const n = Number(process.argv[2] ?? 16);
const work = mkdtempSync(path.join(os.tmpdir(), 'autopipe-bench-dft-'));
const settings = temporalSettings({ AUTOPIPE_TEMPORAL_PORT: '27233', AUTOPIPE_TEMPORAL_UI_PORT: '28233', TEMPORAL_NAMESPACE: 'bench' });
Object.assign(process.env, { AUTOPIPE_TEMPORAL_PORT: '27233', TEMPORAL_NAMESPACE: 'bench' });

const cells = path.join(work, 'si.extxyz');
await execa(pythonExe, ['-c', `
from ase.build import bulk
from ase.io import write
fr = []
for i in range(${n}):
    a = bulk('Si', 'diamond', a=5.43, cubic=True); a.rattle(0.04, seed=100 + i); fr.append(a)
write(${JSON.stringify(cells)}, fr)`]);
const dft = DftSchema.parse({ pseudopotentials: { Si: 'Si.pz-vbc.UPF' }, ecutwfc: 20, smearing: 'none', kspacing: 0.06 });

await startServer({ settings, stateDir: path.join(work, 'state'), headless: true });
const client = await connectClient(settings);
const rows: { concurrency: number; wall: number; pwWall: number; perStructure: number }[] = [];
try {
  for (const concurrency of [1, 2]) {
    const workers = await createWorkers({ queues: ['control', 'dft'], slots: { dft: concurrency } });
    const running = workers.map((w) => w.run());
    const runDir = path.join(work, `c${concurrency}`);
    const ids = Array.from({ length: n }, (_, i) => `c${concurrency}-s${i}`);
    const t0 = performance.now();
    const r = await client.workflow.execute(labellingWorkflow, {
      taskQueue: TaskQueues.control,
      workflowId: `bench-dft-c${concurrency}-${Date.now()}`,
      args: [{ runDir, dft: { ...dft, concurrency }, structureFile: cells, ids }],
    });
    const wall = (performance.now() - t0) / 1000;
    workers.forEach((w) => w.shutdown());
    await Promise.allSettled(running);
    if (r.labelled !== n) throw new Error(`only ${r.labelled}/${n} labelled`);
    const pwWall = r.labels.reduce((s, l) => s + (JSON.parse(readFileSync(l.labelFile, 'utf8')).provenance.wall_seconds ?? 0), 0);
    rows.push({ concurrency, wall, pwWall, perStructure: wall / n });
  }
} finally {
  await client.connection.close();
  await stopServer({ stateDir: path.join(work, 'state') });
}
const [c1, c2] = rows as [(typeof rows)[0], (typeof rows)[0]];
console.log(`# ${n} Si-8 SCFs (ecutwfc 20 Ry, kspacing 0.06), ${os.cpus().length} cores, ${new Date().toISOString()}`);
for (const r of rows) console.log(`concurrency ${r.concurrency}: wall ${r.wall.toFixed(1)} s, sum of pw.x WALL ${r.pwWall.toFixed(1)} s, ${r.perStructure.toFixed(2)} s/structure`);
console.log(`parallel efficiency T1/(2*T2): ${(c1.wall / (2 * c2.wall)).toFixed(3)}`);
console.log(`orchestration overhead at concurrency 1: ${(c1.wall - c1.pwWall).toFixed(1)} s total, ${((c1.wall - c1.pwWall) / n).toFixed(2)} s/structure (${(100 * (c1.wall - c1.pwWall) / c1.wall).toFixed(0)}% of wall)`);
rmSync(work, { recursive: true, force: true });

// DFT fan-out across worker processes: the same N Si-8 SCFs through labellingWorkflow with 1, 2 and 4
// DFT slots, each slot its own `autopipe worker --queues dft --slots dft=1` process (local launcher), on
// a private dev server. With --slurm, one DFT worker with 1, 2, 4 slots submits the SCFs as batch jobs to
// the local Slurm cluster (scripts/hpc/slurm-cluster.sh) instead: the worker only watches the queue.
//
//   efficiency(k)          = T(1) / (k * T(k))              ideal 1.0
//   per-core efficiency(k) = T(1) / (min(k, cores) * T(k))  what k slots can give on this many cores
//
// Usage: nice -n 5 npx tsx bench/dft-fanout.ts [N=16] [--slots 1,2,4] [--slurm] [--rounds R] [--out FILE]
// Results: bench/dft-fanout-results.json (or dft-fanout-slurm-results.json), with the command and the
// mean load while each configuration ran (on a shared machine, only runs at low load mean anything).
import { execa, type ResultPromise } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DftSchema } from '../common/campaign-schema';
import { TaskQueues } from '../common/queues';
import { connectClient } from '../host/connections';
import { projectRoot } from '../host/paths';
import { rattledSiCells } from './si-cells';
import { startServer, stopServer } from '../host/server';
import { temporalSettings } from '../host/temporal-config';
import { createWorkers } from '../workers/worker';
import type { LabellingResult } from '../workflows/labelling';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const n = Number(args.find((a, i) => /^\d+$/.test(a) && !['--slots', '--rounds', '--out'].includes(args[i - 1] ?? '')) ?? 16);
const slotsList = (flag('--slots') ?? '1,2,4').split(',').map(Number);
const rounds = Number(flag('--rounds') ?? 1);
const slurm = args.includes('--slurm');
const cores = os.availableParallelism();
const cli = path.join(projectRoot, 'bin', 'autopipe.mjs');
const work = mkdtempSync(path.join(os.tmpdir(), 'autopipe-bench-fanout-'));
const env = {
  AUTOPIPE_TEMPORAL_PORT: process.env.AUTOPIPE_TEMPORAL_PORT ?? '7350',
  AUTOPIPE_TEMPORAL_UI_PORT: process.env.AUTOPIPE_TEMPORAL_UI_PORT ?? '8350',
  TEMPORAL_NAMESPACE: 'bench-fanout',
  TEMPORAL_ADDRESS: '',
};
Object.assign(process.env, env);
const settings = temporalSettings();

if (slurm) {
  const r = await execa('bash', [path.join(projectRoot, 'scripts', 'hpc', 'slurm-cluster.sh'), 'start'], { all: true });
  process.env.SLURM_CONF = /SLURM_CONF=(\S+)/.exec(String(r.all))![1];
}

const cells = path.join(work, 'si.extxyz');
// Structure ids are content hashes (the store keys structures by content); each configuration labels in
// its own run directory, so nothing is reused across configurations.
const ids = await rattledSiCells(cells, n);
const base = DftSchema.parse({ pseudopotentials: { Si: 'Si.pz-vbc.UPF' }, ecutwfc: 20, smearing: 'none', kspacing: 0.06 });
const dftFor = (k: number) => ({ ...base, concurrency: k, ...(slurm ? { launcher: 'slurm' as const, slurm: { poll_seconds: 2, time_limit: '30' } } : {}) });

await startServer({ settings, stateDir: path.join(work, 'state'), headless: true });
const client = await connectClient(settings);
const control = await createWorkers({ queues: ['control'] });
const controlRunning = control.map((w) => w.run());

/** How many of these worker processes poll the DFT queue (identity "<pid>@<host>"). */
async function polling(pids: number[]): Promise<number> {
  const r = await client.workflowService.describeTaskQueue({ namespace: settings.namespace, taskQueue: { name: TaskQueues.dft }, taskQueueType: 2 /* ACTIVITY */ });
  const ids = (r.pollers ?? []).map((p) => p.identity ?? '');
  return pids.filter((pid) => ids.some((i) => i.startsWith(`${pid}@`))).length;
}

interface Row { round: number; slots: number; processes: number; wall: number; pwWall: number; load: number[]; loadDuring: number }
const rows: Row[] = [];
try {
  for (let round = 1; round <= rounds; round++) {
    for (const k of slotsList) {
      // Local: k processes of one slot each. Slurm: one process with k slots (the jobs run elsewhere).
      const procs = slurm ? 1 : k;
      const workers: ResultPromise[] = [];
      for (let i = 0; i < procs; i++) {
        workers.push(execa(process.execPath, [cli, 'worker', '--queues', 'dft', '--slots', `dft=${slurm ? k : 1}`, '--grace', '5'], { env: { ...process.env, ...env }, reject: false }));
      }
      // Time the labelling only, not the workers' start-up: wait until every process polls the queue.
      const t0w = Date.now();
      const pids = workers.map((w) => w.pid!);
      while ((await polling(pids)) < procs) {
        if (Date.now() - t0w > 120_000) throw new Error(`only ${await polling(pids)}/${procs} DFT workers polling after 120 s`);
        await new Promise((r) => setTimeout(r, 250));
      }
      const load = os.loadavg().map((x) => Number(x.toFixed(2)));
      // The 1-minute load average while this configuration runs: what else competed for the cores.
      const samples: number[] = [];
      const sampler = setInterval(() => samples.push(os.loadavg()[0]!), 5000);
      const t0 = performance.now();
      const r = (await client.workflow.execute('labellingWorkflow', {
        taskQueue: TaskQueues.control,
        workflowId: `fanout-r${round}-k${k}-${Date.now()}`,
        args: [{ runDir: path.join(work, `r${round}-k${k}`), dft: dftFor(k), structureFile: cells, ids }],
      })) as LabellingResult;
      const wall = (performance.now() - t0) / 1000;
      clearInterval(sampler);
      const loadDuring = Number((samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length)).toFixed(2));
      workers.forEach((w) => w.kill('SIGTERM'));
      await Promise.allSettled(workers);
      if (r.labelled !== n) throw new Error(`only ${r.labelled}/${n} labelled: ${JSON.stringify(r.failures)}`);
      const pwWall = r.labels.reduce((s, l) => s + (JSON.parse(readFileSync(l.labelFile, 'utf8')).provenance.wall_seconds ?? 0), 0);
      rows.push({ round, slots: k, processes: procs, wall, pwWall, load, loadDuring });
      console.log(`round ${round}, ${k} slot(s) in ${procs} process(es): wall ${wall.toFixed(1)} s, sum of pw.x WALL ${pwWall.toFixed(1)} s, load before ${load.join(' ')}, mean load during ${loadDuring}`);
    }
  }
} finally {
  control.forEach((w) => w.shutdown());
  await Promise.allSettled(controlRunning);
  await client.connection.close();
  await stopServer({ stateDir: path.join(work, 'state') });
}

const summary = [...new Set(rows.map((r) => r.round))].flatMap((round) => {
  const inRound = rows.filter((r) => r.round === round);
  const t1 = inRound.find((r) => r.slots === 1)?.wall;
  return inRound.map((r) => ({
    round,
    slots: r.slots,
    wall: Number(r.wall.toFixed(1)),
    per_structure: Number((r.wall / n).toFixed(2)),
    efficiency: t1 ? Number((t1 / (r.slots * r.wall)).toFixed(3)) : null,
    per_core_efficiency: t1 ? Number((t1 / (Math.min(r.slots, cores) * r.wall)).toFixed(3)) : null,
    pw_wall_sum: Number(r.pwWall.toFixed(1)),
    load_during: r.loadDuring,
  }));
});
console.table(summary);
const out = flag('--out') ?? path.join(import.meta.dirname, slurm ? 'dft-fanout-slurm-results.json' : 'dft-fanout-results.json');
writeFileSync(out, JSON.stringify({
  command: `nice -n 5 npx tsx bench/dft-fanout.ts ${args.filter((a, i) => a !== '--out' && args[i - 1] !== '--out').join(' ')}`.trim(),
  what: `${n} rattled Si-8 SCFs (ecutwfc 20 Ry, kspacing 0.06, pw.x on 1 rank) through labellingWorkflow; ${slurm ? 'one DFT worker submitting Slurm jobs to the local one-node cluster' : 'one single-slot DFT worker process per slot'}`,
  cores,
  at: new Date().toISOString(),
  summary,
  rows,
}, null, 1) + '\n');
console.log(`written ${out}`);
rmSync(work, { recursive: true, force: true });
process.exit(0);

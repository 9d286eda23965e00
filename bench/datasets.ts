// Dataset export/import at scale against a bare pandas to_pickle/read_pickle of the same frame.
//
//   npx tsx bench/datasets.ts [--count 50000] [--dir /tmp/autopipe-bench-datasets] [--keep]
//
// Each step runs the exact helper process the activities launch (python -m activities.runtime.helper_cli <cmd>),
// under GNU time for its wall time and peak resident memory. Steps:
//   import extxyz -> store, export store -> .pckl.gzip, export store -> extxyz, import .pckl.gzip -> store,
//   and the baseline: the same DataFrame pickled by pandas alone (gzip level 1, as the export, and
//   pandas' default level), then read back with pd.read_pickle.
import { execa } from 'execa';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { helperCliModule, projectRoot, pythonExe, pythonPath } from '../host/paths';

interface Step {
  step: string;
  seconds: number;
  /** user + system CPU seconds: the wall time on a shared machine also counts waiting for a core. */
  cpuSeconds: number;
  peakMB: number;
  timedSeconds?: number;
  outputMB?: number;
}

const { values } = parseArgs({ options: { count: { type: 'string', default: '50000' }, dir: { type: 'string' }, keep: { type: 'boolean' } } });
const count = Number(values.count);
const dir = path.resolve(values.dir ?? path.join(os.tmpdir(), 'autopipe-bench-datasets'));
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const env = { PYTHONPATH: pythonPath, OMP_NUM_THREADS: '1' };
const mb = (file: string) => statSync(file).size / 1e6;

/** Run argv under GNU time; returns wall and CPU seconds, peak RSS and the last stdout line as JSON. */
async function timed(argv: string[]): Promise<{ seconds: number; cpuSeconds: number; peakMB: number; reply: any }> {
  const stats = path.join(dir, 'time.txt');
  const r = await execa('/usr/bin/time', ['-f', '%e %U %S %M', '-o', stats, ...argv], { env, reject: false, cwd: dir });
  if (r.exitCode !== 0) throw new Error(`${argv.join(' ')} failed (${r.exitCode}):\n${r.stdout}\n${r.stderr}`);
  const [secs, user, sys, kb] = readFileSync(stats, 'utf8').trim().split('\n').pop()!.split(/\s+/).map(Number);
  return { seconds: secs!, cpuSeconds: user! + sys!, peakMB: kb! / 1024, reply: JSON.parse(r.stdout.trim().split('\n').pop()!) };
}

async function helper(command: string, input: Record<string, unknown>) {
  const file = path.join(dir, `${command}.json`);
  writeFileSync(file, JSON.stringify(input));
  const t = await timed([pythonExe, '-m', helperCliModule, command, file]);
  if (!t.reply.ok) throw new Error(`${command}: ${JSON.stringify(t.reply.error)}`);
  return { ...t, reply: t.reply.result };
}

const data = path.join(projectRoot, 'bench', 'datasets_data.py');
const steps: Step[] = [];
const log = (s: Step) => {
  steps.push(s);
  console.log(`${s.step.padEnd(44)} ${s.seconds.toFixed(1).padStart(8)} s wall ${s.cpuSeconds.toFixed(1).padStart(8)} s cpu ${s.peakMB.toFixed(0).padStart(7)} MB${s.outputMB !== undefined ? `  -> ${s.outputMB.toFixed(0)} MB` : ''}${s.timedSeconds !== undefined ? `  (call alone ${s.timedSeconds.toFixed(1)} s)` : ''}`);
};

console.log(`${count} structures of 64 atoms in ${dir} (${os.cpus().length} cores)`);
const xyz = path.join(dir, 'input.extxyz');
const made = await timed([pythonExe, data, 'make', String(count), xyz]);
log({ step: 'make input extxyz (not compared)', seconds: made.seconds, cpuSeconds: made.cpuSeconds, peakMB: made.peakMB, outputMB: mb(xyz) });

const storeA = path.join(dir, 'a', 'store.sqlite');
const imp = await helper('dataset-import', { store: storeA, file: xyz, on_duplicate: 'error' });
if (imp.reply.structures_inserted !== count) throw new Error(`imported ${imp.reply.structures_inserted} of ${count}`);
log({ step: 'import extxyz -> store', seconds: imp.seconds, cpuSeconds: imp.cpuSeconds, peakMB: imp.peakMB, outputMB: mb(storeA) });

const pckl = path.join(dir, 'export.pckl.gzip');
const exP = await helper('dataset-export', { store: storeA, oracles: ['dft'], pckl });
log({ step: 'export store -> .pckl.gzip (gzip level 1)', seconds: exP.seconds, cpuSeconds: exP.cpuSeconds, peakMB: exP.peakMB, outputMB: mb(pckl) });

const outXyz = path.join(dir, 'export.extxyz');
const exX = await helper('dataset-export', { store: storeA, oracles: ['dft'], extxyz: outXyz });
log({ step: 'export store -> extxyz', seconds: exX.seconds, cpuSeconds: exX.cpuSeconds, peakMB: exX.peakMB, outputMB: mb(outXyz) });

const storeB = path.join(dir, 'b', 'store.sqlite');
const impP = await helper('dataset-import', { store: storeB, file: pckl, on_duplicate: 'error' });
if (impP.reply.structures_inserted !== count) throw new Error(`imported ${impP.reply.structures_inserted} of ${count}`);
log({ step: 'import .pckl.gzip -> store', seconds: impP.seconds, cpuSeconds: impP.cpuSeconds, peakMB: impP.peakMB, outputMB: mb(storeB) });

for (const level of [1, 9]) {
  const out = path.join(dir, `baseline-${level}.pckl.gzip`);
  const w = await timed([pythonExe, data, 'baseline-write', String(count), out, String(level)]);
  log({ step: `baseline: build frame + to_pickle (gzip ${level})`, seconds: w.seconds, cpuSeconds: w.cpuSeconds, peakMB: w.peakMB, timedSeconds: w.reply.seconds, outputMB: mb(out) });
}
const r = await timed([pythonExe, data, 'baseline-read', path.join(dir, 'baseline-1.pckl.gzip')]);
log({ step: 'baseline: read_pickle', seconds: r.seconds, cpuSeconds: r.cpuSeconds, peakMB: r.peakMB, timedSeconds: r.reply.seconds });

const load = os.loadavg().map((x) => x.toFixed(1)).join(' ');
writeFileSync(path.join(projectRoot, 'bench', 'datasets-results.json'), JSON.stringify({ count, atoms: 64, cores: os.cpus().length, loadAverageAtEnd: load, at: new Date().toISOString(), steps }, null, 1));
console.log(`load average at the end: ${load} (wall times on a shared machine include waiting for a core; cpu does not)`);
console.log(`results: bench/datasets-results.json`);
if (!values.keep) rmSync(dir, { recursive: true, force: true });

// ACE fit wall time against dataset size at a fixed basis and a fixed number of iterations.
//
//   npx tsx bench/training-scaling.ts [--sizes 100,300,1000] [--maxiter 20] [--dir /tmp/autopipe-bench-training] [--keep]
//
// Data: 8-atom fcc Cu cells labelled by ASE's EMT (test/fixtures/training/emt_dataset.py, "wide" kind),
// one dataset per size. Fit: the fitAce activity exactly as workflows run it (pre-flight check,
// `pacemaker input.yaml`, pace_yaml2yace, pace_activeset), with the test campaign's basis
// (test/fixtures/training/cu-emt.yaml: 20 functions, orders up to 3, cutoff 5 Å), tensorpot backend,
// no test split, one size after the other. Pacemaker's own log timestamps split its run into phases:
//   prep   start -> "Fitting dataset size" (imports, dataset load, neighbour lists)
//   build  -> "Initial state" (TensorFlow graph construction and tracing, first evaluation)
//   iter   -> "Fitting done" (maxiter BFGS iterations)
//   post   -> last line (saving the potential; predictions are off by default)
// and startup: the rest of the pacemaker process (Python/TensorFlow imports before, teardown after).
// The rest of the activity's wall time is the pre-flight check, pace_yaml2yace and pace_activeset.
import { execa } from 'execa';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fitAce } from '../activities/ace/fit';
import { projectRoot, pythonExe } from '../host/paths';
import { TrainingSchema } from '../common/campaign-schema';
import { loadCampaignFile } from '../cli/campaign-file';

const { values } = parseArgs({
  options: { sizes: { type: 'string', default: '100,300,1000' }, maxiter: { type: 'string', default: '20' }, dir: { type: 'string' }, keep: { type: 'boolean' } },
});
const sizes = values.sizes!.split(',').map(Number);
const maxiter = Number(values.maxiter);
const dir = path.resolve(values.dir ?? path.join(os.tmpdir(), 'autopipe-bench-training'));
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

const campaign = loadCampaignFile(path.join(projectRoot, 'test', 'fixtures', 'training', 'cu-emt.yaml'));
if (!campaign.ok) throw new Error(campaign.errors.join('\n'));
const training = TrainingSchema.parse({ ...campaign.campaign.training, test_size: 0 });

function stamp(line: string): number | undefined {
  const m = line.match(/^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})/);
  return m ? Date.parse(`${m[1]!.replace(' ', 'T')}.${m[2]}Z`) : undefined;
}

function phases(log: string) {
  // The log holds the pacemaker run, then pace_yaml2yace and pace_activeset: cut at pacemaker's exit.
  const all = log.split('\n');
  const exit = all.findIndex((l) => l.startsWith('# exit'));
  const lines = all.slice(0, exit);
  const processMs = Number(all[exit]!.match(/after (\d+) ms/)![1]);
  const at = (re: RegExp) => {
    const l = lines.find((x) => re.test(x));
    return l ? stamp(l) : undefined;
  };
  const stamps = lines.map(stamp).filter((x): x is number => x !== undefined);
  const t0 = at(/Start pacemaker/)!;
  const tData = at(/Fitting dataset size/)!;
  const tInit = at(/Initial state:#0/)!;
  const tDone = at(/Fitting done/)!;
  const tEnd = stamps.at(-1)!;
  const s = (ms: number) => Math.round(ms / 100) / 10;
  return { startup: s(processMs - (tEnd - t0)), prep: s(tData - t0), build: s(tInit - tData), iter: s(tDone - tInit), post: s(tEnd - tDone), pacemaker: s(processMs) };
}

interface Row {
  structures: number;
  atoms: number;
  wall: number;
  startup: number;
  prep: number;
  build: number;
  iter: number;
  perIteration: number;
  post: number;
  other: number;
  trainRmseE: number;
  trainRmseF: number;
}

const rows: Row[] = [];
const load0 = os.loadavg();
for (const n of sizes) {
  const data = path.join(dir, `cu-${n}.pckl.gzip`);
  await execa(pythonExe, [path.join(projectRoot, 'test', 'fixtures', 'training', 'emt_dataset.py'), '--out', data, '--count', String(n), '--seed', String(1000 + n), '--kind', 'wide']);
  const started = Date.now();
  const r = await fitAce({ outDir: path.join(dir, `fit-${n}`), datasetFile: data, elements: ['Cu'], training, seed: 1, maxiter });
  const wall = (Date.now() - started) / 1000;
  const p = phases(readFileSync(r.logFile, 'utf8'));
  const row: Row = {
    structures: n,
    atoms: 8 * n,
    wall: Math.round(wall * 10) / 10,
    ...p,
    perIteration: Math.round((p.iter / maxiter) * 1000) / 1000,
    other: Math.round((wall - p.pacemaker) * 10) / 10,
    trainRmseE: Math.round(r.metrics.train_rmse_energy_mev_atom * 100) / 100,
    trainRmseF: Math.round(r.metrics.train_rmse_forces_mev_a * 10) / 10,
  };
  delete (row as Partial<typeof p>).pacemaker;
  rows.push(row);
  console.error(`${n} structures: ${row.wall} s`);
}

const header = '| structures | atoms | activity wall (s) | pacemaker startup | prep | build | iterations | s/iteration | post | check+yace+asi | train RMSE E (meV/atom) | F (meV/Å) |';
const table = [header, '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|', ...rows.map((r) => `| ${r.structures} | ${r.atoms} | ${r.wall} | ${r.startup} | ${r.prep} | ${r.build} | ${r.iter} | ${r.perIteration} | ${r.post} | ${r.other} | ${r.trainRmseE} | ${r.trainRmseF} |`)].join('\n');
console.log(`ACE fit wall time, ${maxiter} iterations, basis ${JSON.stringify({ functions: training.number_of_functions_per_element, ranks_max_order: training.ranks_max_order, lmax: training.lmax, nradmax: training.nradmax, cutoff: training.cutoff })}, backend ${training.backend}, ${os.cpus().length} cores, load average ${load0.map((x) => x.toFixed(1)).join(' ')} -> ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
console.log(table);
writeFileSync(
  path.join(projectRoot, 'bench', 'training-scaling.results.json'),
  JSON.stringify({ date: new Date().toISOString(), maxiter, training, cores: os.cpus().length, loadavgBefore: load0, loadavgAfter: os.loadavg(), rows }, null, 1) + '\n',
);
if (!values.keep) rmSync(dir, { recursive: true, force: true });

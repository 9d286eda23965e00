// Active learning against random picks at the same DFT budget and settings, on the same independent test
// set. Three arms, each fitted the same way (from scratch, the campaign's training settings, every label
// trains, DFT labels only, so the arms differ in which structures were labelled and nothing else):
//
//   (a) active      the campaign's own DFT picks, in the order it paid for them (the first B at budget B)
//   (b) random      random picks from the same candidate pools (generation-0 candidates + every
//                   generation's MD candidates)
//   (c) generated   random picks from the generation-0 candidates only (no exploration)
//
//   npx tsx bench/active-vs-random.ts RUN_DIR TESTSET.extxyz --budgets 20,40,80 --target 60 [--seed 1] [--out R.json]
//
// Labels for (b) and (c) come from the project's DFT oracle (`autopipe label dft`) in a bench run directory
// beside the campaign's; a structure the campaign already labelled is not recomputed (its label file,
// keyed by structure and settings, is copied over first). Prints the DFT calls each arm needs to reach the
// target force RMSE and their ratio. Labelling runs workers in this process on the Temporal server of
// AUTOPIPE_TEMPORAL_PORT; while a campaign's workers serve that server, give the bench its own namespace
// (`temporal operator namespace create -n bench`, then TEMPORAL_NAMESPACE=bench) so neither takes the
// other's tasks.
import { execa } from 'execa';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fitAce } from '../activities/ace/fit';
import { evaluatePotential } from '../activities/evaluation/evaluate';
import { CampaignSchema } from '../common/campaign-schema';
import { projectRoot, pythonExe, pythonPath } from '../host/paths';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { budgets: { type: 'string' }, target: { type: 'string' }, seed: { type: 'string', default: '1' }, out: { type: 'string' }, arms: { type: 'string', default: 'active,random,generated' } },
});
if (positionals.length !== 2 || !values.budgets || !values.target) {
  console.error('usage: npx tsx bench/active-vs-random.ts RUN_DIR TESTSET.extxyz --budgets 20,40,80 --target 60 [--seed 1] [--arms active,random,generated] [--out R.json]');
  process.exit(2);
}
const [runDir, testSet] = positionals.map((p) => path.resolve(p!)) as [string, string];
const budgets = values.budgets.split(',').map(Number).sort((a, b) => a - b);
const target = Number(values.target);
const arms = values.arms!.split(',');
const resolved = JSON.parse(readFileSync(path.join(runDir, 'campaign.resolved.json'), 'utf8')) as { campaign?: unknown };
const campaign = CampaignSchema.parse(resolved.campaign ?? resolved);
const work = path.join(runDir, 'bench', 'active-vs-random');
const benchRun = path.join(work, 'labels');
mkdirSync(benchRun, { recursive: true });
const training = { ...campaign.training, test_size: 0 };

async function py(...args: string[]): Promise<Record<string, unknown>> {
  const r = await execa(pythonExe, [path.join(projectRoot, 'bench', 'active_vs_random_data.py'), ...args], { env: { PYTHONPATH: pythonPath } });
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

/** DFT labels for `file` through the project's oracle; labels the campaign already has are copied, not recomputed. */
async function label(file: string, out: string): Promise<void> {
  for (const id of readdirSync(path.join(runDir, 'dft'))) {
    const from = path.join(runDir, 'dft', id);
    const to = path.join(benchRun, 'dft', id);
    for (const f of readdirSync(from).filter((x) => x.startsWith('label-'))) {
      mkdirSync(to, { recursive: true });
      if (!existsSync(path.join(to, f))) copyFileSync(path.join(from, f), path.join(to, f));
    }
  }
  const config = path.join(work, 'campaign.json');
  writeFileSync(config, JSON.stringify({ ...(resolved.campaign as object), run_directory: undefined, id: undefined }, null, 1));
  await execa(process.execPath, [path.join(projectRoot, 'bin', 'autopipe.mjs'), 'label', 'dft', file, '--config', config, '--out', out, '--run-dir', benchRun], { stdio: 'inherit' });
}

interface Point { arm: string; budget: number; labelled: number; F: number; Eoff: number; E: number | null }
const points: Point[] = [];

async function score(arm: string, labelled: string) {
  for (const b of budgets) {
    const pckl = path.join(work, arm, `b${b}.pckl.gzip`);
    mkdirSync(path.dirname(pckl), { recursive: true });
    const ds = await py('pckl', labelled, String(b), pckl);
    const n = ds.count as number;
    if (n < b) console.log(`${arm}: only ${n} labelled structures for budget ${b}`);
    if (points.some((p) => p.arm === arm && p.labelled === n)) continue; // pool exhausted: the same fit again
    const fit = await fitAce({ outDir: path.join(work, arm, `fit-b${b}`), datasetFile: pckl, elements: campaign.system.elements, training, seed: campaign.seed, activeSet: false });
    const r = await evaluatePotential({ potential: fit.potentialYaml, data: testSet, workDir: path.join(work, arm, `eval-b${b}`) });
    points.push({ arm, budget: b, labelled: n, F: r.overall.forces_rmse_mev_a, Eoff: r.overall.energy_rmse_mev_atom_offset, E: r.energyScale === 'absolute' ? r.overall.energy_rmse_mev_atom : null });
    console.log(`${arm} budget ${b} (${n} labels): F ${r.overall.forces_rmse_mev_a.toFixed(1)} meV/Å, E-off ${r.overall.energy_rmse_mev_atom_offset.toFixed(2)} meV/atom`);
  }
}

const pools = await py('pools', runDir, path.join(work, 'pools'));
console.log(`pools: ${JSON.stringify(pools)}`);
const max = String(budgets.at(-1));
if (arms.includes('active')) {
  const own = await py('campaign', runDir, path.join(work, 'active.extxyz'));
  await score('active', own.file as string);
}
if (arms.includes('random')) {
  const files = pools.files as Record<string, string>;
  const union = path.join(work, 'pools', 'all.extxyz');
  writeFileSync(union, Object.values(files).map((f) => readFileSync(f, 'utf8')).join(''));
  const picked = await py('pick', union, max, values.seed!, path.join(work, 'random-picks.extxyz'));
  await label(picked.file as string, path.join(work, 'random.extxyz'));
  await score('random', path.join(work, 'random.extxyz'));
}
if (arms.includes('generated')) {
  const picked = await py('pick', (pools.files as Record<string, string>).generated!, max, values.seed!, path.join(work, 'generated-picks.extxyz'));
  await label(picked.file as string, path.join(work, 'generated.extxyz'));
  await score('generated', path.join(work, 'generated.extxyz'));
}

/** DFT calls to reach the target: linear interpolation between the first budget at or below it and the one before. */
function callsToTarget(arm: string): number | null {
  const ps = points.filter((p) => p.arm === arm).sort((a, b) => a.labelled - b.labelled);
  const i = ps.findIndex((p) => p.F <= target);
  if (i < 0) return null;
  if (i === 0) return ps[0]!.labelled;
  const [a, b] = [ps[i - 1]!, ps[i]!];
  return a.labelled + ((a.F - target) / (a.F - b.F)) * (b.labelled - a.labelled);
}
console.log(`\n${path.basename(runDir)} on ${path.basename(testSet)}: force RMSE (meV/Å) by DFT labels; target ${target} meV/Å`);
for (const arm of arms) {
  const ps = points.filter((p) => p.arm === arm);
  const need = callsToTarget(arm);
  console.log(`${arm.padEnd(10)} ${ps.map((p) => `${p.labelled}: ${p.F.toFixed(1)}`).join('  ')}   -> target at ${need === null ? `> ${Math.max(...ps.map((p) => p.labelled))} (not reached)` : need.toFixed(0)} DFT calls`);
}
const act = callsToTarget('active');
for (const arm of arms.filter((a) => a !== 'active')) {
  const other = callsToTarget(arm);
  if (act !== null && other !== null) console.log(`ratio ${arm}/active: ${(other / act).toFixed(2)}`);
  else if (act !== null) console.log(`ratio ${arm}/active: > ${(Math.max(...points.filter((p) => p.arm === arm).map((p) => p.labelled)) / act).toFixed(2)} (${arm} never reached the target)`);
}
if (values.out) {
  writeFileSync(values.out, JSON.stringify({ command: `npx tsx bench/active-vs-random.ts ${process.argv.slice(2).join(' ')}`, date: new Date().toISOString(), runDir, testSet, target, pools, points, callsToTarget: Object.fromEntries(arms.map((a) => [a, callsToTarget(a)])) }, null, 1));
  console.log(`written ${values.out}`);
}

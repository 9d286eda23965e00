// `autopipe dataset export|import|info`: the store's labelled structures as Pacemaker .pckl.gzip and MACE
// extxyz, either format back into a store, and what a dataset file or a run's store holds.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { onDuplicate, parseList, parseNumber, parseNumberMap, runContext } from '../args';
import type { Register } from '../command-kit';
import { examples } from '../command-kit';
import { UsageError } from '../errors';

interface RunOptions {
  config?: string;
  runDir?: string;
  json?: boolean;
}

interface ExportOptions extends RunOptions {
  name?: string;
  outDir?: string;
  format?: string;
  oracle?: string;
  settingsHash?: string;
  generation?: string;
  generationMax?: string;
  source?: string;
  split?: string;
  testFraction?: string;
  referenceEnergies?: string;
  weights?: string;
  requireStress?: boolean;
}

interface ImportOptions extends RunOptions {
  oracle?: string;
  settingsHash?: string;
  source?: string;
  generation?: string;
  onDuplicate?: string;
  minDistance?: string;
  energyKey?: string;
  forcesKey?: string;
  stressKey?: string;
  requireStress?: boolean;
}

async function exportCmd(opts: ExportOptions): Promise<number> {
  const formats = opts.format === 'both' ? ['pckl', 'extxyz'] : (parseList(opts.format) ?? ['pckl', 'extxyz']);
  const bad = formats.filter((f) => f !== 'pckl' && f !== 'extxyz');
  if (bad.length || !formats.length) throw new UsageError(`--format: choose from pckl, extxyz or both (got ${opts.format})`);
  const { SplitSchema } = await import('../../activities/store/store');
  const split = opts.split === undefined ? undefined : SplitSchema.safeParse(opts.split).data;
  if (opts.split !== undefined && !split) throw new UsageError(`--split: choose from ${SplitSchema.options.join(', ')} (got ${opts.split})`);
  if (opts.generation && opts.generationMax) throw new UsageError('give --generation or --generation-max, not both');
  const generation = parseNumber('--generation', opts.generation, { int: true, min: 0 });
  const generationMax = parseNumber('--generation-max', opts.generationMax, { int: true, min: 0 });
  const testFraction = parseNumber('--test-fraction', opts.testFraction, { min: 0, max: 0.99 });
  const refs = parseNumberMap('--reference-energies', opts.referenceEnergies);
  const weights = parseNumberMap('--weights', opts.weights);
  const ctx = runContext(opts, 'read');
  const name = opts.name ?? (generationMax !== undefined ? `upto-gen-${generationMax}` : generation !== undefined ? `gen-${generation}` : 'all');
  const { exportDataset } = await import('../../activities/store/datasets');
  const r = await exportDataset({
    runDir: ctx.runDir,
    name,
    outDir: opts.outDir && path.resolve(opts.outDir),
    formats: formats as ('pckl' | 'extxyz')[],
    filter: { generation, generationMax, source: opts.source, split },
    oracles: parseList(opts.oracle),
    settingsHash: opts.settingsHash,
    testFraction,
    referenceEnergies: refs ?? ctx.campaign?.training.reference_energies,
    weights,
    requireStress: opts.requireStress,
    cutoff: ctx.campaign?.training.cutoff,
  });
  if (opts.json) {
    console.log(JSON.stringify(r, null, 2));
    return 0;
  }
  const oracles = Object.entries(r.byOracle).map(([o, n]) => `${o} ${n}`).join(', ');
  console.log(`${r.count} labelled structures (${oracles}; ${r.train} train, ${r.test} test); ${r.unlabelled} selected structures had no such label`);
  if (r.heldOut) console.log(`${r.heldOut} structures of the campaign's validation/test split left out (--split validation exports them; --test-fraction writes them to the test file)`);
  for (const f of r.files) console.log(`  ${f.split.padEnd(5)} ${f.format.padEnd(6)} ${String(f.count).padStart(6)}  ${f.path}  sha256 ${f.sha256.slice(0, 16)}`);
  return 0;
}

async function importCmd(file: string, opts: ImportOptions): Promise<number> {
  const generation = parseNumber('--generation', opts.generation, { int: true, min: 0 });
  const minDistance = parseNumber('--min-distance', opts.minDistance, { min: 0 });
  const dup = onDuplicate(opts.onDuplicate);
  const ctx = runContext(opts);
  const { importDataset } = await import('../../activities/store/datasets');
  const { storePath } = await import('../../activities/store/store');
  const r = await importDataset({
    runDir: ctx.runDir,
    file: path.resolve(file),
    oracle: opts.oracle,
    settingsHash: opts.settingsHash,
    source: opts.source,
    generation,
    elements: ctx.campaign?.system.elements,
    minDistance,
    onDuplicate: dup,
    requireStress: opts.requireStress,
    keys: { energy: opts.energyKey, forces: opts.forcesKey, stress: opts.stressKey },
  });
  if (opts.json) {
    console.log(JSON.stringify(r, null, 2));
    return 0;
  }
  console.log(`${r.rows} rows read (${r.duplicatesInFile} duplicates in the file) into ${storePath(ctx.runDir)}`);
  console.log(`structures: ${r.structures.inserted} inserted, ${r.structures.existing} already stored, ${r.structures.skipped} kept as stored`);
  console.log(`labels:     ${r.labels.inserted} inserted, ${r.labels.existing} already stored, ${r.labels.skipped} kept as stored`);
  return 0;
}

async function infoCmd(target: string, opts: { json?: boolean }): Promise<number> {
  const { datasetInfo } = await import('../../activities/store/datasets');
  const { storePath } = await import('../../activities/store/store');
  let file = path.resolve(target);
  if (existsSync(file) && statSync(file).isDirectory()) file = storePath(file);
  const r = await datasetInfo({ file });
  if (opts.json || r.kind === 'store') {
    console.log(JSON.stringify(r, null, 2));
    return 0;
  }
  console.log(`${r.file}: ${r.kind}, ${r.count} structures (${r.unique_structures} distinct), ${(r.bytes / 1e6).toFixed(2)} MB`);
  console.log(`  elements ${r.elements.join(' ')}; atoms per structure ${r.natoms.min}-${r.natoms.max} (mean ${r.natoms.mean.toFixed(1)})`);
  console.log(`  energy per atom ${r.energy_per_atom.min?.toFixed(4)} .. ${r.energy_per_atom.max?.toFixed(4)} eV; max |F| ${r.max_abs_force.toFixed(3)} eV/Å; stress on ${r.with_stress}`);
  console.log(`  labels by oracle: ${Object.entries(r.by_oracle).map(([o, n]) => `${o} ${n}`).join(', ')}`);
  if (r.columns) console.log(`  columns: ${r.columns.join(', ')}${r.weights ? ' (per-structure weights present: Pacemaker ignores its weighting policy)' : ''}`);
  return 0;
}

export const register: Register = (program, act) => {
  const dataset = program
    .command('dataset')
    .description("Pacemaker/MACE datasets from and into a run's store")
    .addHelpText('after', examples('autopipe dataset export --config examples/si-demo.yaml', 'autopipe dataset info runs/si/datasets/all.pckl.gzip'));
  dataset
    .command('export')
    .description("the store's labelled structures as Pacemaker .pckl.gzip and MACE extxyz (train and test split)")
    .option('--run-dir <dir>', 'run directory whose store.sqlite is read')
    .option('--config <campaign>', "campaign file: its run directory, reference energies and cutoff")
    .option('--name <name>', 'file name stem (default all, gen-G or upto-gen-G)')
    .option('--out-dir <dir>', 'where the files go (default <run dir>/datasets)')
    .option('--format <list>', 'pckl, extxyz or both (default both)')
    .option('--oracle <list>', 'labels of these oracles, e.g. dft,mace')
    .option('--settings-hash <hash>', 'labels made with these settings only')
    .option('--generation <g>', 'structures of this generation only')
    .option('--generation-max <g>', 'structures up to this generation')
    .option('--source <s>', 'structures of this source only (e.g. md_halt)')
    .option('--split <s>', "structures of this split only: train, validation (the campaign's validation set, left out of the training file otherwise) or test")
    .option('--test-fraction <f>', 'share held out as the test split (0 .. 0.99); the validation set goes there too')
    .option('--reference-energies <map>', 'eV per atom, e.g. Si=-4.2,Ge=-3.9 (default the campaign\'s)')
    .option('--weights <map>', 'training weight per oracle, e.g. dft=1,mace=0.3')
    .option('--require-stress', 'fail when a selected label has no stress')
    .option('--json', 'the result as JSON')
    .addHelpText('after', examples('autopipe dataset export --config examples/si-demo.yaml --oracle dft --test-fraction 0.1', 'autopipe dataset export --run-dir runs/si --generation-max 2 --format pckl --out-dir /tmp/ds'))
    .action(act(exportCmd));
  dataset
    .command('import')
    .description("a .pckl.gzip or extxyz dataset into a run's store (structures and labels, deduplicated)")
    .argument('<file>', 'the dataset (.pckl.gzip or extxyz)')
    .option('--run-dir <dir>', 'run directory whose store.sqlite receives the data')
    .option('--config <campaign>', 'campaign file: its run directory and elements')
    .option('--oracle <o>', 'oracle name recorded with the labels')
    .option('--settings-hash <hash>', 'settings hash recorded with the labels')
    .option('--source <s>', 'source recorded with the structures')
    .option('--generation <g>', 'generation recorded with the structures')
    .option('--on-duplicate <mode>', 'error or skip, for a structure already stored with other provenance')
    .option('--min-distance <A>', 'refuse structures with atoms closer than this (Å)')
    .option('--energy-key <k>', 'extxyz info key of the energy')
    .option('--forces-key <k>', 'extxyz array key of the forces')
    .option('--stress-key <k>', 'extxyz info key of the stress')
    .option('--require-stress', 'fail when a row has no stress')
    .option('--json', 'the result as JSON')
    .addHelpText('after', examples('autopipe dataset import labels.extxyz --run-dir runs/si --oracle dft', 'autopipe dataset import old.pckl.gzip --config c.yaml --on-duplicate skip'))
    .action(act(importCmd));
  dataset
    .command('info')
    .description('what a dataset file (.pckl.gzip, extxyz) or a run directory\'s store holds')
    .argument('<target>', 'dataset file or run directory')
    .option('--json', 'as JSON')
    .addHelpText('after', examples('autopipe dataset info runs/si/datasets/all.pckl.gzip', 'autopipe dataset info runs/si --json'))
    .action(act(infoCmd));
};

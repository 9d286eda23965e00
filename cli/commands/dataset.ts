// `autopipe dataset export|import|info`: the store's labelled structures as Pacemaker .pckl.gzip and MACE
// extxyz, either format back into a store, and what a dataset file or a run's store holds.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { datasetInfo, exportDataset, importDataset } from '../../activities/store/datasets';
import { storePath } from '../../activities/store/store';
import { onDuplicate, parseList, parseNumber, parseNumberMap, reportFailures, runContext } from './dataset-args';
import { UsageError, type Command } from './index';

const USAGE = `dataset export|import|info ...         Pacemaker/MACE datasets from and into a run's store:
      dataset export (--run-dir D | --config C) [--name N] [--out-dir DIR] [--format pckl,extxyz] [--oracle dft,mace]
          [--settings-hash H] [--generation G | --generation-max G] [--source S] [--test-fraction F]
          [--reference-energies Si=-4.2,...] [--weights dft=1,mace=0.3] [--require-stress] [--json]
      dataset import FILE (--run-dir D | --config C) [--oracle O] [--settings-hash H] [--source S] [--generation G]
          [--on-duplicate error|skip] [--min-distance A] [--energy-key K] [--forces-key K] [--stress-key K] [--require-stress] [--json]
      dataset info FILE|RUN_DIR [--json]`;

const common = { config: { type: 'string' }, 'run-dir': { type: 'string' }, json: { type: 'boolean' } } as const;

async function exportCmd(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...common,
      name: { type: 'string' },
      'out-dir': { type: 'string' },
      format: { type: 'string' },
      oracle: { type: 'string' },
      'settings-hash': { type: 'string' },
      generation: { type: 'string' },
      'generation-max': { type: 'string' },
      source: { type: 'string' },
      'test-fraction': { type: 'string' },
      'reference-energies': { type: 'string' },
      weights: { type: 'string' },
      'require-stress': { type: 'boolean' },
    },
  });
  if (positionals.length) throw new UsageError(`dataset export takes no positional arguments (got ${positionals.join(' ')})`);
  const formats = parseList(values.format) ?? ['pckl', 'extxyz'];
  const bad = formats.filter((f) => f !== 'pckl' && f !== 'extxyz');
  if (bad.length || !formats.length) throw new UsageError(`--format: choose from pckl, extxyz (got ${values.format})`);
  if (values.generation && values['generation-max']) throw new UsageError('give --generation or --generation-max, not both');
  const generation = parseNumber('--generation', values.generation, { int: true, min: 0 });
  const generationMax = parseNumber('--generation-max', values['generation-max'], { int: true, min: 0 });
  const testFraction = parseNumber('--test-fraction', values['test-fraction'], { min: 0, max: 0.99 });
  const refs = parseNumberMap('--reference-energies', values['reference-energies']);
  const weights = parseNumberMap('--weights', values.weights);
  return reportFailures('dataset export', async () => {
    const ctx = runContext(values)!;
    const name = values.name ?? (generationMax !== undefined ? `upto-gen-${generationMax}` : generation !== undefined ? `gen-${generation}` : 'all');
    const r = await exportDataset({
      runDir: ctx.runDir,
      name,
      outDir: values['out-dir'] && path.resolve(values['out-dir']),
      formats: formats as ('pckl' | 'extxyz')[],
      filter: { generation, generationMax, source: values.source },
      oracles: parseList(values.oracle),
      settingsHash: values['settings-hash'],
      testFraction,
      referenceEnergies: refs ?? ctx.campaign?.training.reference_energies,
      weights,
      requireStress: values['require-stress'],
      cutoff: ctx.campaign?.training.cutoff,
    });
    if (values.json) {
      console.log(JSON.stringify(r, null, 2));
      return 0;
    }
    const oracles = Object.entries(r.byOracle).map(([o, n]) => `${o} ${n}`).join(', ');
    console.log(`${r.count} labelled structures (${oracles}; ${r.train} train, ${r.test} test); ${r.unlabelled} selected structures had no such label`);
    for (const f of r.files) console.log(`  ${f.split.padEnd(5)} ${f.format.padEnd(6)} ${String(f.count).padStart(6)}  ${f.path}  sha256 ${f.sha256.slice(0, 16)}`);
    return 0;
  });
}

async function importCmd(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...common,
      oracle: { type: 'string' },
      'settings-hash': { type: 'string' },
      source: { type: 'string' },
      generation: { type: 'string' },
      'on-duplicate': { type: 'string' },
      'min-distance': { type: 'string' },
      'energy-key': { type: 'string' },
      'forces-key': { type: 'string' },
      'stress-key': { type: 'string' },
      'require-stress': { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('dataset import needs exactly one FILE (.pckl.gzip or extxyz)');
  const generation = parseNumber('--generation', values.generation, { int: true, min: 0 });
  const minDistance = parseNumber('--min-distance', values['min-distance'], { min: 0 });
  const dup = onDuplicate(values['on-duplicate']);
  return reportFailures('dataset import', async () => {
    const ctx = runContext(values)!;
    const r = await importDataset({
      runDir: ctx.runDir,
      file: path.resolve(positionals[0]!),
      oracle: values.oracle,
      settingsHash: values['settings-hash'],
      source: values.source,
      generation,
      elements: ctx.campaign?.system.elements,
      minDistance,
      onDuplicate: dup,
      requireStress: values['require-stress'],
      keys: { energy: values['energy-key'], forces: values['forces-key'], stress: values['stress-key'] },
    });
    if (values.json) {
      console.log(JSON.stringify(r, null, 2));
      return 0;
    }
    console.log(`${r.rows} rows read (${r.duplicatesInFile} duplicates in the file) into ${storePath(ctx.runDir)}`);
    console.log(`structures: ${r.structures.inserted} inserted, ${r.structures.existing} already stored, ${r.structures.skipped} kept as stored`);
    console.log(`labels:     ${r.labels.inserted} inserted, ${r.labels.existing} already stored, ${r.labels.skipped} kept as stored`);
    return 0;
  });
}

async function infoCmd(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
  if (positionals.length !== 1) throw new UsageError('dataset info needs exactly one FILE or RUN_DIR');
  let file = path.resolve(positionals[0]!);
  if (existsSync(file) && statSync(file).isDirectory()) file = storePath(file);
  return reportFailures('dataset info', async () => {
    const r = await datasetInfo({ file });
    if (values.json) {
      console.log(JSON.stringify(r, null, 2));
      return 0;
    }
    if (r.kind === 'store') {
      console.log(JSON.stringify(r, null, 2));
      return 0;
    }
    console.log(`${r.file}: ${r.kind}, ${r.count} structures (${r.unique_structures} distinct), ${(r.bytes / 1e6).toFixed(2)} MB`);
    console.log(`  elements ${r.elements.join(' ')}; atoms per structure ${r.natoms.min}-${r.natoms.max} (mean ${r.natoms.mean.toFixed(1)})`);
    console.log(`  energy per atom ${r.energy_per_atom.min?.toFixed(4)} .. ${r.energy_per_atom.max?.toFixed(4)} eV; max |F| ${r.max_abs_force.toFixed(3)} eV/Å; stress on ${r.with_stress}`);
    console.log(`  labels by oracle: ${Object.entries(r.by_oracle).map(([o, n]) => `${o} ${n}`).join(', ')}`);
    if (r.columns) console.log(`  columns: ${r.columns.join(', ')}${r.weights ? ' (per-structure weights present: Pacemaker ignores its weighting policy)' : ''}`);
    return 0;
  });
}

export const command: Command = {
  usage: USAGE,
  async run(args) {
    const [sub, ...rest] = args;
    if (sub === 'export') return exportCmd(rest);
    if (sub === 'import') return importCmd(rest);
    if (sub === 'info') return infoCmd(rest);
    throw new UsageError(`dataset needs a subcommand: export, import or info`);
  },
};

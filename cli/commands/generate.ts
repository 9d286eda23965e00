// `autopipe generate --config C`: the campaign's generation recipe to an exact extxyz file, optionally
// inserted into the run's store (one transaction; the same seed gives the same structures).
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateStructures } from '../../activities/structures/generate';
import { onDuplicate, parseNumber, reportFailures, runContext } from './dataset-args';
import { UsageError, type Command } from './index';

const USAGE =
  'generate --config C [--count N] [--seed S] [--structure FILE] [--out FILE] [--insert [--generation G] [--source S] [--on-duplicate error|skip]] [--run-dir D] [--json]   candidate structures from the campaign recipe';

async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      'run-dir': { type: 'string' },
      count: { type: 'string' },
      seed: { type: 'string' },
      structure: { type: 'string' },
      out: { type: 'string' },
      insert: { type: 'boolean' },
      generation: { type: 'string' },
      source: { type: 'string' },
      'on-duplicate': { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (positionals.length) throw new UsageError(`generate takes no positional arguments (got ${positionals.join(' ')})`);
  if (!values.config) throw new UsageError('generate: --config CAMPAIGN.yaml is required (its system and generation sections are the recipe)');
  const count = parseNumber('--count', values.count, { int: true, min: 1 });
  const seed = parseNumber('--seed', values.seed, { int: true, min: 0 });
  const generation = parseNumber('--generation', values.generation, { int: true, min: 0 }) ?? 0;
  const dup = onDuplicate(values['on-duplicate']);
  if (!values.insert && (values.generation || values.source || dup)) throw new UsageError('--generation, --source and --on-duplicate only apply with --insert');
  return reportFailures('generate', async () => {
    const ctx = runContext(values)!;
    const c = ctx.campaign!;
    const s = seed ?? c.seed;
    const system = values.structure ? { ...c.system, structure_file: path.resolve(values.structure), prototype: undefined } : c.system;
    const r = await generateStructures({
      runDir: ctx.runDir,
      name: `gen-${generation}-seed-${s}`,
      system,
      generation: c.generation,
      seed: s,
      count,
      output: values.out && path.resolve(values.out),
      store: values.insert ? { source: values.source ?? 'initial_random', generation, onDuplicate: dup } : undefined,
    });
    if (values.json) {
      console.log(JSON.stringify(r, null, 2));
      return 0;
    }
    const modes = Object.entries(r.modes).filter(([, n]) => n > 0).map(([m, n]) => `${m} ${n}`).join(', ');
    console.log(`${r.count} structures (${r.natoms === r.natomsMax ? r.natoms : `${r.natoms}-${r.natomsMax}`} atoms; ${modes}) -> ${r.output}`);
    console.log(`rejected ${r.rejected} with atoms closer than ${c.generation.min_distance} Å, dropped ${r.duplicates} duplicates`);
    if (r.store) console.log(`store ${r.store.store}: ${r.store.inserted} inserted, ${r.store.existing} already there`);
    return 0;
  });
}

export const command: Command = { usage: USAGE, run };

// `autopipe generate --config C`: the campaign's generation recipe to an exact extxyz file, optionally
// inserted into the run's store (one transaction; the same seed gives the same structures).
import path from 'node:path';
import { MAX_GENERATED } from '../../common/campaign-schema';
import { onDuplicate, parseNumber, runContext } from '../args';
import type { Register } from '../command-kit';
import { examples } from '../command-kit';
import { UsageError } from '../errors';

interface GenerateOptions {
  config?: string;
  runDir?: string;
  count?: string;
  seed?: string;
  structure?: string;
  out?: string;
  insert?: boolean;
  generation?: string;
  source?: string;
  onDuplicate?: string;
  json?: boolean;
}

async function generate(opts: GenerateOptions): Promise<number> {
  if (!opts.config) throw new UsageError('--config CAMPAIGN.yaml is required (its system and generation sections are the recipe)');
  const count = parseNumber('--count', opts.count, { int: true, min: 1, max: MAX_GENERATED });
  const seed = parseNumber('--seed', opts.seed, { int: true, min: 0 });
  const generation = parseNumber('--generation', opts.generation, { int: true, min: 0 }) ?? 0;
  const dup = onDuplicate(opts.onDuplicate);
  if (!opts.insert && (opts.generation || opts.source || dup)) throw new UsageError('--generation, --source and --on-duplicate only apply with --insert');
  const ctx = runContext(opts);
  const c = ctx.campaign!;
  const s = seed ?? c.seed;
  const system = opts.structure ? { ...c.system, structure_file: path.resolve(opts.structure), prototype: undefined } : c.system;
  const { generateStructures } = await import('../../activities/structures/generate');
  const r = await generateStructures({
    runDir: ctx.runDir,
    name: `gen-${generation}-seed-${s}`,
    system,
    generation: c.generation,
    seed: s,
    count,
    output: opts.out && path.resolve(opts.out),
    store: opts.insert ? { source: opts.source ?? 'initial_random', generation, onDuplicate: dup } : undefined,
  });
  if (opts.json) {
    console.log(JSON.stringify(r, null, 2));
    return 0;
  }
  const modes = Object.entries(r.modes).filter(([, n]) => n > 0).map(([m, n]) => `${m} ${n}`).join(', ');
  console.log(`${r.count} structures (${r.natoms === r.natomsMax ? r.natoms : `${r.natoms}-${r.natomsMax}`} atoms; ${modes}) -> ${r.output}`);
  console.log(`rejected ${r.rejected} with atoms closer than ${c.generation.min_distance} Å, dropped ${r.duplicates} duplicates`);
  if (r.store) console.log(`store ${r.store.store}: ${r.store.inserted} inserted, ${r.store.existing} already there`);
  return 0;
}

export const register: Register = (program, act) => {
  program
    .command('generate')
    .description("candidate structures from the campaign's system and generation sections (extxyz; optionally into the run's store)")
    .option('--config <campaign>', 'campaign file (required)')
    .option('--count <n>', 'how many structures (default generation.count)')
    .option('--seed <s>', 'random seed (default the campaign seed)')
    .option('--structure <file>', 'start from this structure file instead of the campaign\'s prototype')
    .option('--out <file>', 'extxyz output (default <run dir>/structures/gen-G-seed-S.extxyz)')
    .option('--insert', "insert the structures into the run's store")
    .option('--generation <g>', 'generation recorded with --insert (default 0)')
    .option('--source <s>', 'source recorded with --insert (default initial_random)')
    .option('--on-duplicate <mode>', 'error or skip, for a structure already stored with other provenance')
    .option('--run-dir <dir>', "run directory (default the campaign's)")
    .option('--json', 'the result as JSON')
    .addHelpText('after', examples('autopipe generate --config examples/si-demo.yaml --count 10 --out cands.extxyz', 'autopipe generate --config c.yaml --insert --generation 1 --source md_halt'))
    .action(act(generate));
};

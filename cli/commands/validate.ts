// `autopipe validate FILE` and `autopipe schema`: the campaign file checked without running anything.
import { campaignJsonSchema } from '../../common/campaign-schema';
import type { Register } from '../command-kit';
import { examples } from '../command-kit';

export const register: Register = (program, act) => {
  program
    .command('validate')
    .description('check a campaign file without running anything: schema, derived values, files it needs, run directory, DFT cost; every problem as `file: path: message`')
    .argument('<file>', 'campaign file (YAML or JSON)')
    .option('--explain', 'print every value the file leaves out: derived (with the reason) or default')
    .option('--json', '{file, valid, errors, system, elements, explain} on stdout (same exit codes)')
    .addHelpText('after', examples('autopipe validate examples/si-demo.yaml', 'autopipe validate --explain my-campaign.yaml', 'autopipe validate my-campaign.yaml --json'))
    .action(
      act(async (file: string, opts: { explain?: boolean; json?: boolean }) => {
        const json = (o: Record<string, unknown>) => console.log(JSON.stringify({ file, ...o }, null, 2));
        const { checkCampaignFile } = await import('../campaign-check');
        const r = await checkCampaignFile(file);
        if (!r.ok) {
          if (opts.json) json({ valid: false, errors: r.errors });
          else {
            for (const e of r.errors) console.error(e);
            console.error(`${r.errors.length} problem${r.errors.length === 1 ? '' : 's'} found`);
          }
          return 1;
        }
        let explain: string[] | undefined;
        if (opts.explain) {
          const { explainCampaign } = await import('../explain');
          const { formatCost } = await import('../../activities/dft/cost');
          const ex = explainCampaign(r.raw);
          if ('errors' in ex) {
            if (opts.json) json({ valid: false, errors: ex.errors.map((e) => `${file}: ${e}`) });
            else ex.errors.forEach((e) => console.error(`${file}: ${e}`));
            return 1;
          }
          explain = [...ex.lines];
          if (r.cost) {
            explain.push(`DFT of the starting cell: ${formatCost(r.cost.start)}`);
            explain.push(`DFT of an exploration cell (max_atoms_dft): ${formatCost(r.cost.largest)}`);
          }
          explain.push(`run directory: ${r.runDir}`);
        }
        if (opts.json) {
          json({ valid: true, errors: [], system: r.campaign.system.name, elements: r.campaign.system.elements, ...(explain ? { explain } : {}) });
          return 0;
        }
        explain?.forEach((line) => console.log(line));
        console.log(`${file}: valid (system ${r.campaign.system.name}, elements ${r.campaign.system.elements.join(' ')})`);
        return 0;
      }),
    );
  program
    .command('schema')
    .description("the campaign file's JSON Schema (for editors)")
    .addHelpText('after', examples('autopipe schema > campaign.schema.json'))
    .action(
      act(async () => {
        console.log(JSON.stringify(campaignJsonSchema(), null, 2));
        return 0;
      }),
    );
};

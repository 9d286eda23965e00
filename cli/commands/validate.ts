// `autopipe validate FILE` and `autopipe schema`: the campaign file checked without running anything.
import { campaignJsonSchema } from '../../common/campaign-schema';
import { loadCampaignFile } from '../campaign-file';
import type { Register } from '../command-kit';
import { examples } from '../command-kit';

export const register: Register = (program, act) => {
  program
    .command('validate')
    .description('check a campaign file; every problem as `file: path: message`')
    .argument('<file>', 'campaign file (YAML or JSON)')
    .option('--explain', 'print every value the file leaves out: derived (with the reason) or default')
    .addHelpText('after', examples('autopipe validate examples/si-demo.yaml', 'autopipe validate --explain my-campaign.yaml'))
    .action(
      act(async (file: string, opts: { explain?: boolean }) => {
        const r = loadCampaignFile(file);
        if (!r.ok) {
          for (const e of r.errors) console.error(e);
          console.error(`${r.errors.length} problem${r.errors.length === 1 ? '' : 's'} found`);
          return 1;
        }
        if (opts.explain) {
          const { explainCampaign } = await import('../explain');
          const ex = explainCampaign(r.raw);
          if ('errors' in ex) {
            ex.errors.forEach((e) => console.error(`${file}: ${e}`));
            return 1;
          }
          ex.lines.forEach((line) => console.log(line));
        }
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

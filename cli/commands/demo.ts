// `autopipe demo [FILE]`: the demo campaign end to end (cli/demo.ts).
import type { Register } from '../command-kit';
import { examples } from '../command-kit';

export const register: Register = (program, act) => {
  program
    .command('demo')
    .description('run the demo campaign end to end on real tools (server and workers in this process)')
    .argument('[file]', 'campaign file (default examples/si-demo.yaml)')
    .addHelpText('after', examples('autopipe demo', 'autopipe demo examples/si-demo.yaml'))
    .action(
      act(async (file: string | undefined) => {
        const { runDemo } = await import('../demo');
        return runDemo(file);
      }),
    );
};

// `autopipe teacher bootstrap --config C`: the offline default teacher (cli/teacher-bootstrap.ts).
import type { Register } from '../command-kit';
import { examples } from '../command-kit';
import { UsageError } from '../errors';

export interface BootstrapOptions {
  config?: string;
  runDir?: string;
  json?: boolean;
  worker: boolean;
}

export const register: Register = (program, act) => {
  const teacher = program
    .command('teacher')
    .description('the MACE teacher')
    .addHelpText('after', examples('autopipe teacher bootstrap --config examples/si-demo.yaml'));
  teacher
    .command('bootstrap')
    .description('train a MACE committee on DFT labels of seed structures, or fine-tune CHGNet on them with teacher.kind chgnet (system, dft and teacher sections)')
    .option('--config <campaign>', 'campaign file (required)')
    .option('--run-dir <dir>', 'where the labels and models go (default: the campaign\'s run_directory, else runs/teacher-<system>-<timestamp>)')
    .option('--json', 'the result as JSON')
    .option('--no-worker', 'rely on running `autopipe worker` processes instead of workers in this process')
    .addHelpText('after', examples('autopipe teacher bootstrap --config examples/si-demo.yaml', 'autopipe teacher bootstrap --config c.yaml --run-dir runs/teacher-si --json'))
    .action(
      act(async (opts: BootstrapOptions) => {
        if (!opts.config) throw new UsageError('--config CAMPAIGN.yaml is required (its system, dft and teacher.bootstrap sections are used)');
        const { bootstrapTeacher } = await import('../teacher-bootstrap');
        return bootstrapTeacher(opts);
      }),
    );
};

// `autopipe label dft FILE --config CAMPAIGN.yaml --out OUT.extxyz`: DFT labels for any ASE-readable set
// of structures with the campaign's DFT settings (cli/label-dft.ts runs labellingWorkflow).
import path from 'node:path';
import type { Register } from '../command-kit';
import { examples } from '../command-kit';
import { UsageError } from '../errors';

export interface LabelDftOptions {
  config?: string;
  out?: string;
  runDir?: string;
  worker: boolean;
}

export const register: Register = (program, act) => {
  const label = program
    .command('label')
    .description('label structures with an oracle')
    .addHelpText('after', examples('autopipe label dft POSCAR --config examples/si-demo.yaml --out labels.extxyz'));
  label
    .command('dft')
    .description("DFT labels (pw.x, the campaign's dft section) for any ASE-readable structure file, written as extxyz (REF_energy, REF_forces, REF_stress)")
    .argument('<file>', 'structures: extxyz, POSCAR, CIF, ... (anything ASE reads)')
    .option('--config <campaign>', 'campaign file whose dft section is used (required)')
    .option('--out <file>', 'labels as extxyz (required)')
    .option('--run-dir <dir>', 'where pw.x runs (default runs/label-<timestamp>)')
    .option('--no-worker', 'rely on running `autopipe worker` processes instead of workers in this process')
    .addHelpText('after', examples('autopipe label dft POSCAR --config examples/si-demo.yaml --out labels.extxyz', 'autopipe label dft cells.extxyz --config c.yaml --out l.extxyz --run-dir runs/my-labels --no-worker'))
    .action(
      act(async (file: string, opts: LabelDftOptions) => {
        if (!opts.config) throw new UsageError('--config CAMPAIGN.yaml is required (its dft section is used)');
        if (!opts.out) throw new UsageError('--out OUT.extxyz is required');
        const { labelDft } = await import('../label-dft');
        return labelDft(path.resolve(file), file, opts);
      }),
    );
};

// `autopipe doctor`: every tool with version and path, pass/fail and the fix (cli/doctor.ts does the checks).
import type { Register } from '../command-kit';
import { examples } from '../command-kit';

export const register: Register = (program, act) => {
  program
    .command('doctor')
    .description('check every tool (versions, paths) and print the fix for each failure')
    .option('--json', 'the checks as JSON')
    .addHelpText('after', examples('autopipe doctor', 'autopipe doctor --json'))
    .action(
      act(async (opts: { json?: boolean }) => {
        const { formatChecks, runDoctor } = await import('../doctor');
        const checks = await runDoctor();
        console.log(opts.json ? JSON.stringify(checks, null, 2) : formatChecks(checks));
        return checks.every((c) => c.ok) ? 0 : 1;
      }),
    );
};

// The one dispatcher: a commander program with every command registered by its module (cli/commands/),
// `--help` on each, usage errors exit 2, any other error goes through describeError (exit 1).
import { Command, CommanderError } from 'commander';
import { commandGroups } from './commands';
import type { Act } from './command-kit';
import { describeError } from './errors';

const ENVIRONMENT = `
Environment:
  TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE (default autopipe), TEMPORAL_TLS_CERT/KEY/CA, TEMPORAL_API_KEY
      an external Temporal service instead of the embedded one
  AUTOPIPE_TEMPORAL_PORT, AUTOPIPE_TEMPORAL_UI_PORT   ports of the embedded dev server (7233, 8233)
  AUTOPIPE_TEMPORAL_IP                               where it listens: 127.0.0.1, or 0.0.0.0 for other hosts

Every command has --help with its options and an example, e.g. \`autopipe start --help\`.`;

/** "dataset import" for the command `autopipe dataset import`. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Every command below `cmd`, depth first (for the help checks and the "see --help" hints). */
export function allCommands(cmd: Command): Command[] {
  return cmd.commands.flatMap((c) => [c, ...allCommands(c)]);
}

export function buildProgram(act: Act): Command {
  const program = new Command('autopipe')
    .description('Active-learning ACE potentials with MACE, Quantum ESPRESSO and durable Temporal workflows.')
    .usage('<command> [options]')
    .exitOverride()
    .addHelpText('after', ENVIRONMENT);
  for (const register of commandGroups) register(program, act);
  // Commander's own errors (unknown option, missing argument) name the command and point to its help.
  for (const c of [program, ...allCommands(program)]) {
    const where = commandPath(c);
    const name = where ? `autopipe ${where}` : 'autopipe';
    c.configureOutput({ outputError: (str, write) => write(str.replace(/^error: /, `${name}: `)) });
    c.showHelpAfterError(`(see \`${name} --help\`)`);
  }
  return program;
}

/** Runs the command line and returns the exit code; prints errors, never throws. */
export async function runCli(argv: string[]): Promise<number> {
  let exitCode = 0;
  const act: Act =
    (body) =>
    async (...args) => {
      const cmd = args.at(-1) as Command;
      try {
        exitCode = await body(...args);
      } catch (err) {
        const report = describeError(err, commandPath(cmd));
        report.lines.forEach((l) => console.error(l));
        exitCode = report.exitCode;
      }
    };
  const program = buildProgram(act);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      if (err.code === 'commander.help') return err.exitCode === 0 ? 0 : 2; // help shown for a missing subcommand
      return 2; // commander printed the problem (unknown option, missing argument, missing subcommand)
    }
    const report = describeError(err, '');
    report.lines.forEach((l) => console.error(l));
    return report.exitCode;
  }
}

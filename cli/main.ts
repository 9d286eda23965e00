// The `autopipe` command line: bin/autopipe.mjs runs this; cli/program.ts is the dispatcher. Exit
// explicitly: a Temporal connection or helper left open must not keep a finished command alive.
import { runCli } from './program';

process.exit(await runCli(process.argv.slice(2)));

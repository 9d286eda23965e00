// The `autopipe` command line: bin/autopipe.mjs runs this; cli/program.ts is the dispatcher. Exit
// explicitly: a Temporal connection or helper left open must not keep a finished command alive. But only
// once stdout and stderr are flushed: writes to a pipe are asynchronous, and process.exit() drops what is
// still queued (`status --json | jq` got the first 64 KB of a long campaign's status).
import { runCli } from './program';

const code = await runCli(process.argv.slice(2));
const flushed = (s: NodeJS.WriteStream) => new Promise<void>((resolve) => (s.writableLength === 0 ? resolve() : s.write('', () => resolve())));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(code);

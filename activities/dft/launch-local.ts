// pw.x as a child process of the DFT worker (dft.launcher: local): the command template on this
// machine, heartbeating each SCF iteration; cancellation and worker death end it (runTool).
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { reapStale, runTool } from '../runtime/process';
import type { PwLauncher } from './launch';
import { commandArgv, scfProgress } from './pw-command';

export const localLauncher: PwLauncher = {
  kind: 'local',

  async resume(base) {
    // A worker that died mid-attempt leaves its detached pw.x running and partial files: stop it, so no
    // two pw.x ever write the same structure's scratch at once. The new attempt starts over.
    if (existsSync(base)) {
      for (const d of readdirSync(base).filter((f) => f.startsWith('attempt-'))) reapStale(path.join(base, d, 'pw.pid'), path.join(base, d));
    }
    return undefined;
  },

  async run(attempt, dft) {
    const { dir } = attempt;
    const [exe, ...pre] = commandArgv(dft.command, dft.ranks);
    const logFile = path.join(dir, 'pw.log');
    const run = await runTool({
      command: exe!,
      args: [...pre, '-in', 'espresso.pwi'],
      cwd: dir,
      logFile,
      pidFile: path.join(dir, 'pw.pid'),
      progress: scfProgress(),
      timeoutMs: dft.timeout_minutes * 60_000,
      okExitCodes: [1, 2, 3], // pw.x exits non-zero on an unconverged SCF: the output decides
    });
    const outputFile = path.join(dir, 'espresso.pwo');
    writeFileSync(outputFile, run.stdout);
    return { ...attempt, exitCode: run.exitCode, outputFile, logFile };
  },
};

// Live fit progress for `autopipe train`: Pacemaker's log, parsed every few seconds while the fit runs
// in this process.
import { existsSync, readFileSync } from 'node:fs';
import { fitProgressParser, type FitProgress } from '../activities/ace/fit-progress';

/** Print Pacemaker's progress every few seconds by parsing the log the fit appends to. */
export function watchFitLog(logFile: string, maxiter: number | undefined, print: (p: FitProgress) => void): () => void {
  let offset = existsSync(logFile) ? readFileSync(logFile, 'utf8').length : 0; // earlier attempts are not news
  let lastShown = -1;
  const parse = fitProgressParser(maxiter);
  let latest: FitProgress | undefined;
  const poll = () => {
    if (!existsSync(logFile)) return;
    const text = readFileSync(logFile, 'utf8');
    const fresh = text.slice(offset);
    const cut = fresh.lastIndexOf('\n');
    if (cut < 0) return;
    offset += cut + 1;
    for (const line of fresh.slice(0, cut).split('\n')) latest = parse(line) ?? latest;
    if (latest && latest.iteration !== lastShown) {
      lastShown = latest.iteration;
      print(latest);
    }
  };
  const timer = setInterval(poll, 2000);
  return () => {
    clearInterval(timer);
    poll();
  };
}

// Shared by `autopipe train`, `select` and `gamma`: typed failures shown as one clear line, numbers
// from flags, and live fit progress read from the Pacemaker log while the activity runs in-process.
import { ApplicationFailure } from '@temporalio/common';
import { existsSync, readFileSync } from 'node:fs';
import { fitProgressParser, type FitProgress } from '../../activities/ace/fit-progress';
import { loadCampaignFile } from '../campaign-file';
import type { Campaign } from '../../common/campaign-schema';
import { UsageError } from './index';

export function positiveInt(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer (got "${v}")`);
  return n;
}

export function numberList(flag: string, v: string | undefined): number[] {
  if (v === undefined) return [];
  const xs = v.split(',').map(Number);
  if (xs.some((x) => !Number.isFinite(x) || x <= 0)) throw new UsageError(`${flag} must be positive numbers separated by commas (got "${v}")`);
  return xs;
}

/** The campaign from --config, or the errors printed and undefined. */
export function campaignOrErrors(file: string): Campaign | undefined {
  const r = loadCampaignFile(file);
  if (r.ok) return r.campaign;
  r.errors.forEach((e) => console.error(e));
  return undefined;
}

/** Run the work; a typed failure prints "TYPE: message" and exits 1 (usage errors propagate: exit 2). */
export async function reportFailure(what: string, work: () => Promise<number>): Promise<number> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const type = err instanceof ApplicationFailure ? `${err.type}: ` : '';
    console.error(`${what} failed: ${type}${(err as Error).message}`);
    return 1;
  }
}

/** Print Pacemaker's progress every few seconds by parsing the log the activity appends to. */
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

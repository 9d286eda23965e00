// Resuming a fit a crash interrupted. Pacemaker rewrites interim_potential_0.yaml in place every
// iteration, so a worker killed mid-write leaves it empty or cut short (seen in CI: 0 bytes, and the next
// attempt died with "bad conversion"). While Pacemaker runs, keepWholeInterim copies each whole interim
// aside; the next attempt starts from Pacemaker's file when it is whole, else from that copy, for the
// iterations left.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { readJsonIfExists, writeFileAtomic } from '../runtime/files';
import { lastMetricsRow } from './fit-metrics';

const INTERIM = 'interim_potential_0.yaml';
const KEPT = 'interim-whole.yaml';
const KEPT_ITERATIONS = 'interim-whole.json';

/** Whether interim potential text is whole: it parses, and every species block's functions carry numeric coefficients. */
function wholeText(text: string): boolean {
  try {
    const doc = YAML.parse(text) as { species?: { nbody?: { c?: unknown }[] }[] } | null;
    const blocks = doc?.species;
    if (!Array.isArray(blocks) || !blocks.length) return false;
    return blocks.every((b) => Array.isArray(b.nbody) && b.nbody.length > 0 && b.nbody.every((f) => Array.isArray(f.c) && f.c.length > 0 && f.c.every((x) => typeof x === 'number' && Number.isFinite(x))));
  } catch {
    return false;
  }
}

/** Whether an interim potential file is whole enough to start from (see wholeText). */
export function wholeInterim(file: string): boolean {
  return existsSync(file) && wholeText(readFileSync(file, 'utf8'));
}

/**
 * While Pacemaker runs in `work`: every `everyMs`, an interim potential not copied yet that is whole and
 * did not change while it was read is copied to interim-whole.yaml (atomically), then the iterations it
 * holds to interim-whole.json. Returns the function that stops it.
 */
export function keepWholeInterim(work: string, everyMs = 2000): () => void {
  const src = path.join(work, INTERIM);
  let copied = 0;
  const tick = () => {
    try {
      const mtime = statSync(src).mtimeMs;
      if (mtime === copied) return;
      // Read before the potential: the copy then holds at least these iterations.
      const iterations = lastMetricsRow(path.join(work, 'metrics.txt'))?.iter_num ?? 0;
      const text = readFileSync(src, 'utf8');
      if (statSync(src).mtimeMs !== mtime || !wholeText(text) || !(iterations > 0)) return;
      writeFileAtomic(path.join(work, KEPT), text);
      writeFileAtomic(path.join(work, KEPT_ITERATIONS), JSON.stringify({ iterations }));
      copied = mtime;
    } catch {
      // no interim yet, or it moved under us: next tick
    }
  };
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** The interrupted attempt's whole interim potential and the iterations it holds: Pacemaker's own file, else the copy kept aside. */
function latestWhole(work: string): { file: string; iterations: number } | undefined {
  const own = path.join(work, INTERIM);
  if (wholeInterim(own)) return { file: own, iterations: lastMetricsRow(path.join(work, 'metrics.txt'))?.iter_num ?? 0 };
  const kept = readJsonIfExists<{ iterations: number }>(path.join(work, KEPT_ITERATIONS));
  if (kept && kept.iterations > 0 && wholeInterim(path.join(work, KEPT))) return { file: path.join(work, KEPT), iterations: kept.iterations };
  return undefined;
}

/**
 * The interim potential of an interrupted attempt of this same fit (matching fingerprint), moved out of
 * the work directory, and the iterations done so far (over every interrupted attempt); none to resume:
 * {iterations: 0}. Resuming needs at least one iteration left.
 */
export function takeInterim(outDir: string, work: string, fingerprint: string, maxiter: number): { interim?: string; iterations: number } {
  const ledger = path.join(outDir, 'resume.json');
  const prior = readJsonIfExists<{ fingerprint: string; iterations: number; interim: string }>(ledger);
  const carried = prior?.fingerprint === fingerprint && existsSync(prior.interim) ? prior : undefined;
  const marker = path.join(work, 'fingerprint');
  const same = existsSync(marker) && readFileSync(marker, 'utf8').trim() === fingerprint;
  const found = same ? latestWhole(work) : undefined;
  if (found && found.iterations > 0) {
    // At least one iteration is left to run, even when the interrupted attempt had done them all.
    const iterations = Math.min((carried?.iterations ?? 0) + found.iterations, maxiter - 1);
    const kept = path.join(outDir, 'resume', `interim-after-${iterations}.yaml`);
    mkdirSync(path.dirname(kept), { recursive: true });
    copyFileSync(found.file, kept);
    writeFileAtomic(ledger, JSON.stringify({ fingerprint, iterations, interim: kept }, null, 1));
    return { interim: kept, iterations };
  }
  // Interrupted again before its first iteration: still resume from the earlier interim.
  if (carried && carried.iterations < maxiter) return { interim: carried.interim, iterations: carried.iterations };
  rmSync(ledger, { force: true });
  return { iterations: 0 };
}

/**
 * Start the fit from an interim potential: the whole basis with its current coefficients, as Pacemaker
 * continues any potential file (`potential: <file>`). Not `initial_potential`: with a basis that is
 * already complete, Pacemaker's basis extension would add nothing and stop without fitting.
 */
export function startFrom(doc: Record<string, unknown>, interim: string): void {
  doc.potential = interim;
}

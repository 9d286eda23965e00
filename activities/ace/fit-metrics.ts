// Pacemaker's metrics tables (metrics.txt, cycle_metrics.txt and their test_ twins): whitespace-separated,
// a header line first, one row per iteration or cycle.
import { existsSync, readFileSync } from 'node:fs';

export function metricsRows(file: string): Record<string, number>[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').trim().split('\n').filter(Boolean);
  if (lines.length < 2) return [];
  const header = lines[0]!.trim().split(/\s+/);
  return lines.slice(1).map((l) => {
    const values = l.trim().split(/\s+/).map(Number);
    return Object.fromEntries(header.map((h, i) => [h, values[i] ?? NaN]));
  });
}

/** Last row of a Pacemaker metrics table. */
export function lastMetricsRow(file: string): Record<string, number> | undefined {
  return metricsRows(file).at(-1);
}

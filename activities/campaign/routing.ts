// Bookkeeping of the tiered oracle (control queue): routing decisions per batch, the subset of structures
// sent to DFT, and the final manifest that says, for every structure, which engine labelled it (mace, dft
// or none) and under which store key its label is. The caller receives the manifest and a members file
// (the labelled structures as exact store labels, ready for a dataset export) instead of thousands of
// entries in a payload.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Route, RouteCounts, RoutingPolicy } from '../../common/routing';
import { capDft, emptyCounts } from '../../common/routing';
import { writeFileAtomic } from '../runtime/files';
import { callPython } from '../runtime/python';
import { contract, filePath } from '../runtime/contract';
import { runLayout } from '../../common/run-layout';

export interface RoutingDecision {
  id: string;
  index: number;
  route: Route;
  /** The uncertainty the policy read; null = infinite (JSON has no Infinity). */
  u: number | null;
  fStd?: number;
  gamma?: number | null;
  flag?: string;
  /** Set when the DFT cap moved a DFT-bound structure to the queue. */
  deferred?: boolean;
}

export interface RecordRoutingInput {
  runDir: string;
  name: string;
  batch: number;
  structureFile: string;
  /** The fast oracle's store key: its labels are (structure id, kind, key). */
  oracle: { kind: string; key: string };
  decisions: RoutingDecision[];
}

export function routingDir(runDir: string, name: string): string {
  return runLayout(runDir).routing(name);
}

const batchFile = (runDir: string, name: string, batch: number) => path.join(routingDir(runDir, name), 'batches', `batch-${String(batch).padStart(5, '0')}.json`);

/** One batch's decisions on disk (idempotent: a retry rewrites the same file). */
export async function recordRouting(input: RecordRoutingInput): Promise<string> {
  const file = batchFile(input.runDir, input.name, input.batch);
  writeFileAtomic(file, JSON.stringify({ structureFile: input.structureFile, oracle: input.oracle, decisions: input.decisions }));
  return file;
}

/**
 * The DFT cap, applied after all batches: at most `limit` DFT-bound structures go to DFT, the most
 * uncertain first (common/routing.ts capDft); the decisions of the rest flip from dft to queue. Returns
 * the ones that go (at most `limit`: a bounded payload whatever the pool size). Idempotent.
 */
export async function capRouting(input: { runDir: string; name: string; limit?: number }): Promise<{ toDft: { id: string; index: number }[]; deferred: number }> {
  const dir = path.dirname(batchFile(input.runDir, input.name, 0));
  const files = existsSync(dir) ? readdirSync(dir).filter((x) => x.endsWith('.json')).sort() : [];
  const batches = files.map((f) => ({ f, b: BatchSchema.parse(JSON.parse(readFileSync(path.join(dir, f), 'utf8'))) }));
  const bound = batches.flatMap(({ b }) => b.decisions.filter((d) => d.route === 'dft').map((d) => ({ id: d.id, index: d.index, u: d.u ?? Infinity })));
  const { dft, deferred } = capDft(bound, input.limit);
  const defer = new Set(deferred.map((d) => d.id));
  for (const { f, b } of batches) {
    let changed = false;
    for (const d of b.decisions) {
      if (d.route === 'dft' && defer.has(d.id)) {
        d.route = 'queue';
        d.deferred = true;
        changed = true;
      }
    }
    if (changed) writeFileAtomic(path.join(dir, f), JSON.stringify(b));
  }
  const already = batches.reduce((n, { b }) => n + b.decisions.filter((d) => d.deferred && !defer.has(d.id)).length, 0);
  return { toDft: dft.map((d) => ({ id: d.id, index: d.index })), deferred: deferred.length + already };
}

export const StructuresSubset = contract(
  'structures-subset',
  z.strictObject({ structure_file: filePath(), indices: z.array(z.number().int().nonnegative()), output: filePath() }),
  z.object({ output: z.string(), count: z.number() }),
);

/** The structures at `indices` of a file, in that order (the DFT-bound ones, for the labelling workflow). */
export async function writeStructureSubset(input: { structureFile: string; indices: number[]; output: string }): Promise<{ output: string; count: number }> {
  return callPython(StructuresSubset, { structure_file: input.structureFile, indices: input.indices, output: input.output }, {
    workDir: path.join(path.dirname(input.output), 'logs'),
  });
}

const DecisionSchema = z.object({
  id: z.string(),
  index: z.number(),
  route: z.enum(['accept', 'dft', 'discard', 'queue', 'reject']),
  u: z.number().nullable(),
  fStd: z.number().optional(),
  gamma: z.number().nullable().optional(),
  flag: z.string().optional(),
  deferred: z.boolean().optional(),
});
const BatchSchema = z.object({ structureFile: z.string(), oracle: z.object({ kind: z.string(), key: z.string() }), decisions: z.array(DecisionSchema) });

export interface FinalizeRoutingInput {
  runDir: string;
  name: string;
  policy: RoutingPolicy;
  note?: string;
  oracle: { kind: string; key: string; size: number; modelHashes: string[] };
  dft?: { labels: { structureId: string; labelKey: string }[]; failures: { structureId: string; reason: string }[] };
}

export interface ManifestItem {
  structureId: string;
  structureFile: string;
  index: number;
  route: Route;
  /** Which engine's label the caller gets: the fast oracle's, DFT's, or none. */
  engine: 'mace' | 'chgnet' | 'sevennet' | 'dft' | null;
  /** The label's store key (with structureId and engine as the oracle), or null. */
  settingsHash: string | null;
  uncertainty: number | null;
  flag?: string;
  dftFailure?: string;
  deferred?: boolean;
}

export interface TieredOracleSummary {
  manifest: string;
  /** Every labelled structure as a store member {id, oracle, settings_hash, config_type = engine}, for
   * exportDataset's `define`. */
  membersFile: string;
  /** Structures kept for a later DFT selection (route queue). */
  queueFile: string;
  counts: RouteCounts & { total: number; labelledByFastOracle: number; labelledByDft: number; dftFailed: number; deferred: number };
}

/** Merge the batch decisions with the DFT outcome into the manifest, entries and queue files. */
export async function finalizeRouting(input: FinalizeRoutingInput): Promise<TieredOracleSummary> {
  const dir = routingDir(input.runDir, input.name);
  const bdir = path.join(dir, 'batches');
  const files = readdirSync(bdir).filter((f) => f.endsWith('.json')).sort();
  const dftLabels = new Map((input.dft?.labels ?? []).map((l) => [l.structureId, l.labelKey]));
  const dftFailures = new Map((input.dft?.failures ?? []).map((f) => [f.structureId, f.reason]));
  const fastEngine = input.oracle.kind === 'chgnet' || input.oracle.kind === 'sevennet' ? input.oracle.kind : 'mace';
  const items: ManifestItem[] = [];
  const counts = { ...emptyCounts(), total: 0, labelledByFastOracle: 0, labelledByDft: 0, dftFailed: 0, deferred: 0 };
  for (const f of files) {
    const b = BatchSchema.parse(JSON.parse(readFileSync(path.join(bdir, f), 'utf8')));
    for (const d of b.decisions) {
      const item: ManifestItem = { structureId: d.id, structureFile: b.structureFile, index: d.index, route: d.route, engine: null, settingsHash: null, uncertainty: d.u };
      if (d.flag) item.flag = d.flag;
      if (d.deferred) item.deferred = true;
      if (d.route === 'accept') {
        item.engine = fastEngine;
        item.settingsHash = b.oracle.key;
        counts.labelledByFastOracle++;
      } else if (d.route === 'dft') {
        const key = dftLabels.get(d.id);
        if (key) {
          item.engine = 'dft';
          item.settingsHash = key;
          counts.labelledByDft++;
        } else {
          item.dftFailure = dftFailures.get(d.id) ?? 'no DFT result';
          counts.dftFailed++;
        }
      }
      if (d.deferred) counts.deferred++;
      counts[d.route]++;
      counts.total++;
      items.push(item);
    }
  }
  items.sort((a, b) => a.index - b.index);
  const manifest = path.join(dir, 'manifest.json');
  const membersFile = path.join(dir, 'members.json');
  const queueFile = path.join(dir, 'queue.json');
  const members = items
    .filter((i) => i.settingsHash)
    .map((i) => ({ id: i.structureId, oracle: i.engine!, settings_hash: i.settingsHash!, config_type: i.engine! }));
  const queue = items.filter((i) => i.route === 'queue').map((i) => ({ structureId: i.structureId, structureFile: i.structureFile, index: i.index, uncertainty: i.uncertainty }));
  writeFileAtomic(membersFile, JSON.stringify({ members }));
  writeFileAtomic(queueFile, JSON.stringify(queue, null, 1));
  writeFileAtomic(
    manifest,
    JSON.stringify({ name: input.name, policy: input.policy, note: input.note ?? null, oracle: input.oracle, counts, items, finishedAt: new Date().toISOString() }, null, 1),
  );
  return { manifest, membersFile, queueFile, counts };
}

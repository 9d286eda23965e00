// Bookkeeping of the tiered oracle (control queue): routing decisions per batch, the subset of structures
// sent to DFT, and the final manifest that says, for every structure, which engine labelled it (mace, dft
// or none) and where its label is. The caller receives the manifest and a dataset-entries file instead
// of thousands of entries in a payload.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Route, RouteCounts, RoutingPolicy } from '../../common/routing';
import { emptyCounts } from '../../common/routing';
import { writeFileAtomic } from '../runtime/files';
import { callPython } from '../runtime/python';
import { addLabelFiles, insertStructures } from '../store/store';
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
  labelDir: string;
  decisions: RoutingDecision[];
}

export function routingDir(runDir: string, name: string): string {
  return runLayout(runDir).routing(name);
}

const batchFile = (runDir: string, name: string, batch: number) => path.join(routingDir(runDir, name), 'batches', `batch-${String(batch).padStart(5, '0')}.json`);

/** One batch's decisions on disk (idempotent: a retry rewrites the same file). */
export async function recordRouting(input: RecordRoutingInput): Promise<string> {
  const file = batchFile(input.runDir, input.name, input.batch);
  writeFileAtomic(file, JSON.stringify({ structureFile: input.structureFile, labelDir: input.labelDir, decisions: input.decisions }));
  return file;
}

/** The DFT cap, applied after all batches: flips decisions of deferred structures from dft to queue. */
export async function deferRouting(input: { runDir: string; name: string; ids: string[] }): Promise<number> {
  const defer = new Set(input.ids);
  let n = 0;
  const dir = path.dirname(batchFile(input.runDir, input.name, 0));
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) {
    const b = BatchSchema.parse(JSON.parse(readFileSync(path.join(dir, f), 'utf8')));
    let changed = false;
    for (const d of b.decisions) {
      if (d.route === 'dft' && defer.has(d.id)) {
        d.route = 'queue';
        d.deferred = true;
        changed = true;
        n++;
      }
    }
    if (changed) writeFileAtomic(path.join(dir, f), JSON.stringify(b));
  }
  return n;
}

const SubsetResult = z.object({ output: z.string(), count: z.number() });

/** The structures at `indices` of a file, in that order (the DFT-bound ones, for the labelling workflow). */
export async function writeStructureSubset(input: { structureFile: string; indices: number[]; output: string }): Promise<z.infer<typeof SubsetResult>> {
  return callPython('structures-subset', { structure_file: input.structureFile, indices: input.indices, output: input.output }, SubsetResult, {
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
const BatchSchema = z.object({ structureFile: z.string(), labelDir: z.string(), decisions: z.array(DecisionSchema) });

export interface FinalizeRoutingInput {
  runDir: string;
  name: string;
  policy: RoutingPolicy;
  note?: string;
  oracle: { kind: string; key: string; size: number; modelHashes: string[] };
  dft?: { labels: { structureId: string; labelFile: string }[]; failures: { structureId: string; reason: string }[] };
}

export interface ManifestItem {
  structureId: string;
  structureFile: string;
  index: number;
  route: Route;
  /** Which engine's label the caller gets: the fast oracle's, DFT's, or none. */
  engine: 'mace' | 'chgnet' | 'dft' | null;
  labelFile: string | null;
  uncertainty: number | null;
  flag?: string;
  dftFailure?: string;
  deferred?: boolean;
}

export interface TieredOracleSummary {
  manifest: string;
  /** writeDataset-compatible entries of every labelled structure (config_type = engine). */
  entriesFile: string;
  /** Structures kept for a later DFT selection (route queue). */
  queueFile: string;
  counts: RouteCounts & { total: number; labelledByFastOracle: number; labelledByDft: number; dftFailed: number; deferred: number };
}

/** Merge the batch decisions with the DFT outcome into the manifest, entries and queue files. */
export async function finalizeRouting(input: FinalizeRoutingInput): Promise<TieredOracleSummary> {
  const dir = routingDir(input.runDir, input.name);
  const bdir = path.join(dir, 'batches');
  const files = readdirSync(bdir).filter((f) => f.endsWith('.json')).sort();
  const dftLabels = new Map((input.dft?.labels ?? []).map((l) => [l.structureId, l.labelFile]));
  const dftFailures = new Map((input.dft?.failures ?? []).map((f) => [f.structureId, f.reason]));
  const fastEngine = input.oracle.kind === 'chgnet' ? 'chgnet' : 'mace';
  const items: ManifestItem[] = [];
  const counts = { ...emptyCounts(), total: 0, labelledByFastOracle: 0, labelledByDft: 0, dftFailed: 0, deferred: 0 };
  for (const f of files) {
    const b = BatchSchema.parse(JSON.parse(readFileSync(path.join(bdir, f), 'utf8')));
    for (const d of b.decisions) {
      const item: ManifestItem = { structureId: d.id, structureFile: b.structureFile, index: d.index, route: d.route, engine: null, labelFile: null, uncertainty: d.u };
      if (d.flag) item.flag = d.flag;
      if (d.deferred) item.deferred = true;
      if (d.route === 'accept') {
        item.engine = fastEngine;
        item.labelFile = path.join(b.labelDir, `${d.id}.json`);
        counts.labelledByFastOracle++;
      } else if (d.route === 'dft') {
        const lf = dftLabels.get(d.id);
        if (lf) {
          item.engine = 'dft';
          item.labelFile = lf;
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
  const entriesFile = path.join(dir, 'entries.json');
  const queueFile = path.join(dir, 'queue.json');
  const entries = items
    .filter((i) => i.labelFile)
    .map((i) => ({ structure_file: i.structureFile, index: i.index, label_file: i.labelFile!, name: i.structureId, config_type: i.engine! }));
  const queue = items.filter((i) => i.route === 'queue').map((i) => ({ structureId: i.structureId, structureFile: i.structureFile, index: i.index, uncertainty: i.uncertainty }));
  writeFileAtomic(entriesFile, JSON.stringify(entries, null, 1));
  writeFileAtomic(queueFile, JSON.stringify(queue, null, 1));
  writeFileAtomic(
    manifest,
    JSON.stringify({ name: input.name, policy: input.policy, note: input.note ?? null, oracle: input.oracle, counts, items, finishedAt: new Date().toISOString() }, null, 1),
  );
  return { manifest, entriesFile, queueFile, counts };
}

export interface StoreRoutingInput {
  runDir: string;
  manifest: string;
  /** Provenance of the structures in the store, e.g. initial_random, md_halt, active_learning_iter_3. */
  source: string;
  generation: number;
}

/**
 * Record every labelled structure of a routing run in the campaign store, with the label of the engine
 * that answered (oracle mace/chgnet with the committee key, or dft with its settings key). Structure ids
 * must be content hashes (as the generator and `structures-index` make them). Idempotent.
 */
export async function storeRouting(input: StoreRoutingInput): Promise<{ structures: number; labels: number; byEngine: Record<string, number> }> {
  const m = z.object({ items: z.array(z.object({ index: z.number(), structureFile: z.string(), engine: z.string().nullable(), labelFile: z.string().nullable() })) })
    .parse(JSON.parse(readFileSync(input.manifest, 'utf8')));
  const labelled = m.items.filter((i) => i.labelFile);
  const byEngine: Record<string, number> = {};
  for (const i of labelled) byEngine[i.engine!] = (byEngine[i.engine!] ?? 0) + 1;
  if (!labelled.length) return { structures: 0, labels: 0, byEngine };
  const files = [...new Set(labelled.map((i) => i.structureFile))];
  for (const file of files) {
    const subset = await writeStructureSubset({
      structureFile: file,
      indices: labelled.filter((i) => i.structureFile === file).map((i) => i.index),
      output: path.join(path.dirname(input.manifest), `labelled-${files.indexOf(file)}.extxyz`),
    });
    await insertStructures({ runDir: input.runDir, file: subset.output, source: input.source, generation: input.generation, onDuplicate: 'skip', returnIds: false });
  }
  const counts = await addLabelFiles({ runDir: input.runDir, labelFiles: labelled.map((i) => i.labelFile!), onDuplicate: 'skip' });
  return { structures: labelled.length, labels: counts.inserted + counts.existing, byEngine };
}

// The campaign's DFT pool (control queue): every structure that may go to DFT this generation, whatever
// found it: this generation's MD candidates the teacher doubts (their routing queue, or all MD candidates
// when they could not be routed) and the generation-0 candidates the teacher doubted (carried from
// generation to generation until picked). One exact extxyz of them, and
// a JSON index saying where each came from, so a single D-optimal selection ranks them all (most
// informative first) and the split afterwards counts what was picked and what still waits.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { runLayout } from '../../common/run-layout';
import { writeFileAtomic } from '../runtime/files';
import { queryStore, storePath } from '../store/store';
import { writeStructureSubset } from './routing';

export const QueueItemSchema = z.object({ structureId: z.string(), structureFile: z.string(), index: z.number().int(), uncertainty: z.number().nullable() });
export type QueueItem = z.infer<typeof QueueItemSchema>;
const PoolItemSchema = z.object({ structureId: z.string(), origin: z.enum(['md', 'teacher']), structureFile: z.string(), index: z.number().int(), uncertainty: z.number().nullable() });
type PoolItem = z.infer<typeof PoolItemSchema>;

export interface DftPool {
  /** All pool structures, exact extxyz (index i = items[i] of the index file); absent when the pool is empty. */
  file?: string;
  index: string;
  count: number;
  md: number;
  teacher: number;
  /** Candidates left out because they already have a DFT label (e.g. an MD start frame harvested as it was). */
  alreadyLabelled?: number;
}

/** What queueTeacherLabelled reads of a routing manifest (routing.ts ManifestItem): queue items and their route. */
const ManifestRoutesSchema = z.object({ items: z.array(QueueItemSchema.extend({ route: z.string() })) });

const readQueue = (file: string | undefined): QueueItem[] => (file && existsSync(file) ? z.array(QueueItemSchema).parse(JSON.parse(readFileSync(file, 'utf8'))) : []);

export interface AssembleDftPoolInput {
  runDir: string;
  generation: number;
  /** The MD candidates the teacher doubts (a routing queue file) ... */
  mdQueue?: string;
  /** ... or every MD candidate (their extxyz), when they were not routed. */
  mdFile?: string;
  /** Generation-0 candidates the teacher doubted, still waiting (a queue file). */
  pending?: string;
}

export async function assembleDftPool(input: AssembleDftPoolInput): Promise<DftPool> {
  const dir = runLayout(input.runDir).selection(input.generation);
  const candidates: PoolItem[] = readQueue(input.mdQueue).map((q) => ({ ...q, origin: 'md' as const }));
  if (input.mdFile && existsSync(input.mdFile)) {
    idsOf(input.mdFile).forEach((structureId, index) => candidates.push({ structureId, origin: 'md', structureFile: input.mdFile!, index, uncertainty: null }));
  }
  const seen = new Set(candidates.map((i) => i.structureId));
  for (const q of readQueue(input.pending)) if (!seen.has(q.structureId)) candidates.push({ ...q, origin: 'teacher' });
  // A structure that already has a DFT label teaches nothing new and must not spend a DFT pick (a trajectory
  // that halts at its first step harvests its start structure, which may be one labelled before).
  const labelled = existsSync(storePath(input.runDir))
    ? new Set((await queryStore({ runDir: input.runDir, filter: { labelState: 'labelled', oracle: 'dft' }, limit: 1_000_000 })).ids)
    : new Set<string>();
  const items = candidates.filter((i) => !labelled.has(i.structureId));
  const alreadyLabelled = candidates.length - items.length;
  const index = path.join(dir, 'pool.json');
  writeFileAtomic(index, JSON.stringify(items));
  const out: DftPool = { index, count: items.length, md: items.filter((i) => i.origin === 'md').length, teacher: items.filter((i) => i.origin === 'teacher').length, alreadyLabelled };
  if (!items.length) return out;
  // One exact file: the subset of each source file in pool order, concatenated (extxyz frames are independent).
  const files = [...new Set(items.map((i) => i.structureFile))];
  const parts: string[] = [];
  for (const [k, f] of files.entries()) {
    const rows = items.filter((i) => i.structureFile === f);
    const sub = await writeStructureSubset({ structureFile: f, indices: rows.map((r) => r.index), output: path.join(dir, `pool-part-${k}.extxyz`) });
    parts.push(readFileSync(sub.output, 'utf8'));
  }
  // Parts are grouped by file; reorder the index to match the file's frame order.
  const ordered = files.flatMap((f) => items.filter((i) => i.structureFile === f));
  writeFileAtomic(index, JSON.stringify(ordered));
  out.file = path.join(dir, 'pool.extxyz');
  writeFileAtomic(out.file, parts.join(''));
  return out;
}

function idsOf(extxyz: string): string[] {
  // structure_id is in every frame's comment line of the files autopipe writes.
  const ids: string[] = [];
  for (const m of readFileSync(extxyz, 'utf8').matchAll(/structure_id=(?:"(?:_JSON \\")?)?([0-9a-f]{20})/g)) ids.push(m[1]!);
  return ids;
}

export interface QueueTeacherLabelledInput {
  runDir: string;
  generation: number;
  /** A routing manifest (activities/campaign/routing.ts finalizeRouting): its teacher-labelled items join the queue. */
  manifest: string;
  /** The queue they join (structures already waiting keep their place, first). */
  pending?: string;
}

/**
 * A teacher that stepped aside labels nothing, so what it labelled of the generated candidates (strained,
 * sheared, rattled, defect cells) trains nothing either: without this they would never reach DFT, and the
 * DFT data would hold only MD frames near the equilibrium volume. They join the DFT queue (after what
 * already waits), to compete with the MD frames in the D-optimal selection of later generations.
 */
export async function queueTeacherLabelled(input: QueueTeacherLabelledInput): Promise<{ file: string; count: number; added: number }> {
  const manifest = ManifestRoutesSchema.parse(JSON.parse(readFileSync(input.manifest, 'utf8')));
  const queue = readQueue(input.pending);
  const seen = new Set(queue.map((q) => q.structureId));
  const added = manifest.items
    .filter((i) => i.route === 'accept' && !seen.has(i.structureId))
    .map(({ route: _route, ...item }) => item);
  const file = path.join(runLayout(input.runDir).selection(input.generation), 'pending-teacher-aside.json');
  writeFileAtomic(file, JSON.stringify([...queue, ...added]));
  return { file, count: queue.length + added.length, added: added.length };
}

export interface DftPick {
  /** The picked structures (exact extxyz; ids[i] at index i) and their origins. */
  file: string;
  ids: string[];
  picked: { md: number; teacher: number };
  /** MD candidates of this generation not picked (they are not carried over). */
  notSelected: number;
  /** Teacher-doubted structures still waiting, for later generations. */
  pending: { file: string; count: number };
}

/** Split the pool by the selection (indices into the pool file, most informative first). */
export async function splitDftPool(input: { runDir: string; generation: number; pool: DftPool; indices: number[] }): Promise<DftPick> {
  const dir = runLayout(input.runDir).selection(input.generation);
  const items = z.array(PoolItemSchema).parse(JSON.parse(readFileSync(input.pool.index, 'utf8')));
  const chosen = new Set(input.indices);
  const picked = input.indices.map((i) => items[i]!);
  const sub = await writeStructureSubset({ structureFile: input.pool.file!, indices: input.indices, output: path.join(dir, 'selected.extxyz') });
  const waiting: QueueItem[] = items
    .filter((it, i) => it.origin === 'teacher' && !chosen.has(i))
    .map(({ structureId, structureFile, index, uncertainty }) => ({ structureId, structureFile, index, uncertainty }));
  const pendingFile = path.join(dir, 'pending-after.json');
  writeFileSync(pendingFile, JSON.stringify(waiting));
  return {
    file: sub.output,
    ids: picked.map((p) => p.structureId),
    picked: { md: picked.filter((p) => p.origin === 'md').length, teacher: picked.filter((p) => p.origin === 'teacher').length },
    notSelected: items.filter((it, i) => it.origin === 'md' && !chosen.has(i)).length,
    pending: { file: pendingFile, count: waiting.length },
  };
}

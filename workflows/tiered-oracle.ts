// The tiered oracle: the fast oracle labels a structure file in batches, each structure is routed by the
// pure rules of common/routing.ts (MACE label kept, DFT, discarded, queued or rejected), the
// DFT-bound ones (capped) go through labellingWorkflow, and a manifest records which engine labelled each.
import { executeChild, workflowInfo } from '@temporalio/workflow';
import { setCurrentDetails } from './progress';
import type { LabelItem } from '../activities/mace/label';
import type { RoutingDecision, TieredOracleSummary } from '../activities/campaign/routing';
import { DftSchema, formatIssues } from '../common/campaign-schema';
import { capDft, route, routingPolicy, uncertaintyOf, type RoutingPolicy, type UncertaintySource } from '../common/routing';
import { control } from './activity-options';
import { labellingWorkflow, type LabellingResult } from './labelling';
import { fastOracle, invalidConfig, labelInBatches, parseTeacher } from './mace-batches';
import { runLayout } from '../common/run-layout';

export interface TieredOracleInput {
  runDir: string;
  /** Names the routing directory, <runDir>/routing/<name> (e.g. "gen-0-distillation"). */
  name: string;
  structureFile: string;
  /** ids[i] is the structure at index i of structureFile. */
  ids: string[];
  teacher: unknown;
  dft: unknown;
  /** ACE extrapolation grades, one per structure (null = infinite): the uncertainty of a single model. */
  gamma?: (number | null)[];
  /** At most this many structures go to DFT (the most uncertain); the rest of the DFT-bound are queued. */
  dftLimit?: number;
  minDistance?: number;
  window?: number;
  /** Also record the labelled structures and their labels (with the answering engine) in the run's store. */
  store?: { source: string; generation: number };
}

export interface TieredOracleResult extends TieredOracleSummary {
  name: string;
  uncertaintySource: UncertaintySource;
  /** Set when routing had to fall back (single model: routed by ACE gamma); shown in the status. */
  note: string | null;
  policy: RoutingPolicy;
  oracle: { kind: string; key: string; size: number; modelHashes: string[] };
  dft: Pick<LabellingResult, 'labelled' | 'healed' | 'reused' | 'failed'> | null;
  stored: { structures: number; labels: number; byEngine: Record<string, number> } | null;
}

export async function tieredOracleWorkflow(input: TieredOracleInput): Promise<TieredOracleResult> {
  const t = parseTeacher(input.teacher);
  const d = DftSchema.safeParse(input.dft ?? {});
  if (!d.success) throw invalidConfig(`invalid dft section:\n${formatIssues(d.error).map((l) => `dft.${l}`).join('\n')}`);
  const oracle = fastOracle(t);
  const { policy, note } = routingPolicy(t, t.kind === 'chgnet' ? 1 : oracle.models.length, input.gamma?.length, input.ids.length);
  if (note) setCurrentDetails(note);

  const dftCandidates: { id: string; index: number; u: number }[] = [];
  const records: Promise<string>[] = [];
  let oracleInfo: TieredOracleResult['oracle'] | undefined;
  await labelInBatches(
    { runDir: input.runDir, structureFile: input.structureFile, ids: input.ids, oracle, batchSize: t.batch_size, window: input.window, what: 'tiered oracle' },
    (res, start, b) => {
      oracleInfo ??= { kind: res.oracle.kind, key: res.oracle.key, size: res.oracle.size, modelHashes: res.modelHashes };
      const decisions = res.items.map((it: LabelItem, j): RoutingDecision => {
        const index = start + j;
        const gamma = input.gamma?.[index];
        const judged = { fStd: it.fStd, flag: it.flag, gamma };
        const u = uncertaintyOf(judged, policy);
        const r = route(judged, policy);
        if (r === 'dft') dftCandidates.push({ id: it.id, index, u });
        const dec: RoutingDecision = { id: it.id, index, route: r, u: Number.isFinite(u) ? u : null };
        if (it.fStd !== undefined) dec.fStd = it.fStd;
        if (gamma !== undefined) dec.gamma = gamma;
        if (it.flag) dec.flag = it.flag;
        return dec;
      });
      records.push(control.recordRouting({ runDir: input.runDir, name: input.name, batch: b, structureFile: input.structureFile, labelDir: res.labelDir, decisions }));
    },
  );
  await Promise.all(records);

  const { dft: toDft, deferred } = capDft(dftCandidates, input.dftLimit);
  if (deferred.length) await control.deferRouting({ runDir: input.runDir, name: input.name, ids: deferred.map((x) => x.id) });
  let labels: LabellingResult | undefined;
  if (toDft.length) {
    setCurrentDetails(`tiered oracle: ${toDft.length} structures to DFT`);
    const subset = await control.writeStructureSubset({
      structureFile: input.structureFile,
      indices: toDft.map((x) => x.index),
      output: `${runLayout(input.runDir).routing(input.name)}/dft-structures.extxyz`,
    });
    labels = await executeChild(labellingWorkflow, {
      workflowId: `${workflowInfo().workflowId}/dft`,
      args: [{ runDir: input.runDir, dft: d.data, structureFile: subset.output, ids: toDft.map((x) => x.id), minDistance: input.minDistance }],
    });
  }
  const summary = await control.finalizeRouting({
    runDir: input.runDir,
    name: input.name,
    policy,
    note,
    oracle: oracleInfo!,
    dft: labels ? { labels: labels.labels.map((l) => ({ structureId: l.structureId, labelFile: l.labelFile })), failures: labels.failures } : undefined,
  });
  const stored = input.store ? await control.storeRouting({ runDir: input.runDir, manifest: summary.manifest, ...input.store }) : null;
  const c = summary.counts;
  setCurrentDetails(`tiered oracle done: ${c.labelledByFastOracle} by ${oracleInfo!.kind}, ${c.labelledByDft} by DFT, ${c.discard} discarded, ${c.queue} queued, ${c.reject} rejected`);
  return {
    ...summary,
    name: input.name,
    uncertaintySource: policy.source,
    note: note ?? null,
    policy,
    oracle: oracleInfo!,
    dft: labels ? { labelled: labels.labelled, healed: labels.healed, reused: labels.reused, failed: labels.failed } : null,
    stored,
  };
}


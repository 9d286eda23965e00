// The tiered oracle: the fast oracle labels a structure file in batches into the run's store, each batch
// routed in its activity by the pure rules of common/routing.ts (MACE label kept, DFT, discarded, queued or
// rejected); the DFT-bound ones, capped most uncertain first, go through labellingWorkflow, the rest of
// them wait in the queue; a manifest records which engine labelled each structure. Every list that grows
// with the pool stays in files: the payloads carry paths and counts.
import { executeChild, workflowInfo } from '@temporalio/workflow';
import { setCurrentDetails } from './progress';
import type { TieredOracleSummary } from '../activities/campaign/routing';
import { DftSchema, formatIssues } from '../common/campaign-schema';
import { routingPolicy, type RoutingPolicy, type UncertaintySource } from '../common/routing';
import { control } from './activity-options';
import { labellingWorkflow, type LabellingResult } from './labelling';
import { fastOracle, labelInBatches, parseTeacher } from './mace-batches';
import { invalidConfig } from './config';
import { runLayout } from '../common/run-layout';

export interface TieredOracleInput {
  runDir: string;
  /** Names the routing directory, <runDir>/routing/<name> (e.g. "gen-0-distillation"). */
  name: string;
  structureFile: string;
  /** ids[i] is the structure at index i of structureFile (content hashes) ... */
  ids?: string[];
  /** ... or the file's first `count` structures (ids read from the file: a pool of any size, no id list in a payload). */
  count?: number;
  teacher: unknown;
  dft: unknown;
  /** The committee to use instead of teacher.models (e.g. a bootstrapped or fine-tuned one). */
  models?: string[];
  /** ACE extrapolation grades, one per structure (null = infinite): the uncertainty of a single model. */
  gamma?: (number | null)[];
  /** A single model and no gamma: keep every label it could compute instead of failing (generation 0). */
  withoutUncertainty?: 'accept';
  /** At most this many structures go to DFT (the most uncertain); the rest of the DFT-bound are queued. */
  dftLimit?: number;
  minDistance?: number;
  window?: number;
  /** Provenance in the run's store of structures it does not hold yet (labels always go to the store);
   * without a source each structure's own (extxyz info) is used. */
  store?: { source?: string; generation: number };
}

export interface TieredOracleResult extends TieredOracleSummary {
  name: string;
  uncertaintySource: UncertaintySource;
  /** Set when routing had to fall back (single model: routed by ACE gamma); shown in the status. */
  note: string | null;
  policy: RoutingPolicy;
  oracle: { kind: string; key: string; size: number; modelHashes: string[] };
  dft: Pick<LabellingResult, 'labelled' | 'healed' | 'reused' | 'failed'> | null;
}

export async function tieredOracleWorkflow(input: TieredOracleInput): Promise<TieredOracleResult> {
  const t = parseTeacher(input.teacher);
  const d = DftSchema.safeParse(input.dft ?? {});
  if (!d.success) throw invalidConfig(`invalid dft section:\n${formatIssues(d.error).map((l) => `dft.${l}`).join('\n')}`);
  const oracle = fastOracle(t, input.models);
  const total = input.ids?.length ?? input.count ?? 0;
  if (total === 0) throw invalidConfig('the tiered oracle needs structures: give ids (or count) for structureFile');
  const { policy, note } = routingPolicy(t, t.kind !== 'mace' ? 1 : oracle.models.length, input.gamma?.length, total, { withoutUncertainty: input.withoutUncertainty });
  if (note) setCurrentDetails(note);

  let oracleInfo: TieredOracleResult['oracle'] | undefined;
  await labelInBatches(
    {
      runDir: input.runDir,
      structureFile: input.structureFile,
      ids: input.ids,
      count: input.ids ? undefined : total,
      oracle,
      batchSize: t.batch_size,
      window: input.window,
      what: 'tiered oracle',
      provenance: input.store,
      route: { name: input.name, policy, gamma: input.gamma },
    },
    (res) => {
      oracleInfo ??= { kind: res.oracle.kind, key: res.oracle.key, size: res.oracle.size, modelHashes: res.modelHashes };
    },
  );

  const { toDft } = await control.capRouting({ runDir: input.runDir, name: input.name, limit: input.dftLimit });
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
      args: [{ runDir: input.runDir, dft: d.data, structureFile: subset.output, ids: toDft.map((x) => x.id), minDistance: input.minDistance, store: input.store }],
    });
  }
  const summary = await control.finalizeRouting({
    runDir: input.runDir,
    name: input.name,
    policy,
    note,
    oracle: oracleInfo!,
    dft: labels ? { labels: labels.labels.map((l) => ({ structureId: l.structureId, labelKey: l.labelKey })), failures: labels.failures } : undefined,
  });
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
  };
}

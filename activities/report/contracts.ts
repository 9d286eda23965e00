// The report's helper contracts (activities/report/collect.py and plots.py): what the campaign report and
// `autopipe history` read from the store, and the figures matplotlib draws. Defined here once, for both the
// report (data.ts, report.ts) and the CLI's history (cli/campaigns/history.ts).
import { z } from 'zod';
import { contract, filePath } from '../runtime/contract';

const Counts = z.object({ by_source: z.record(z.string(), z.number()), by_oracle: z.record(z.string(), z.number()) });

/** Counts per generation by source and oracle, provenance of the ledger's structures, each exploration's gammas. */
export const ReportCollect = contract(
  'report-collect',
  z.strictObject({
    store: filePath(),
    /** Structure ids whose provenance (source, generation, parent) to return. */
    ids: z.array(z.string()),
    /** Generation -> the exploration's harvested candidates (extxyz with gamma_max per frame). */
    candidates: z.record(z.string(), filePath()),
  }),
  z.object({
    store: z.boolean(),
    by_generation: z.record(z.string(), Counts),
    provenance: z.record(z.string(), z.object({ source: z.string(), generation: z.number(), parent_id: z.string().nullable() })),
    gamma: z.record(z.string(), z.array(z.number())),
  }),
);

const Label = z.object({
  oracle: z.string(),
  settings_hash: z.string(),
  energy: z.number().nullable(),
  energy_per_atom: z.number().nullable(),
  max_force: z.number().nullable(),
  uncertainty: z.number().nullable(),
  energy_std_per_atom: z.number().nullable(),
  extrapolation_grade: z.number().nullable(),
  flag: z.string().nullable(),
  provenance: z.record(z.string(), z.unknown()),
  workflow_id: z.string().nullable(),
  activity_id: z.string().nullable(),
  created_at: z.string(),
});

/** A named training set of the store that holds the structure (ACE training, teacher bootstrap and fine-tunes). */
const SetMembership = z.object({ set_name: z.string(), generation: z.number(), oracle: z.string(), weight: z.number(), config_type: z.string().nullable() });

export const StructureRecord = z.object({
  structure_id: z.string(),
  natoms: z.number(),
  formula: z.string(),
  source: z.string(),
  generation: z.number(),
  parent_id: z.string().nullable(),
  split: z.string().nullable(),
  config_type: z.string().nullable(),
  workflow_id: z.string().nullable(),
  activity_id: z.string().nullable(),
  created_at: z.string(),
  labels: z.array(Label),
  sets: z.array(SetMembership),
  children: z.array(z.object({ structure_id: z.string(), source: z.string(), generation: z.number() })),
});

/** One structure's record (resolved from an id or a unique prefix of at least 6) and its parent chain. */
export const ReportHistory = contract(
  'report-history',
  z.strictObject({ stores: z.array(filePath()).min(1), structure_id: z.string() }),
  z.object({
    store: z.string(),
    also_in: z.array(z.string()),
    structure: StructureRecord,
    ancestors: z.array(z.union([StructureRecord, z.object({ structure_id: z.string(), missing: z.literal(true) })])),
  }),
);

const Series = z.object({ label: z.string().optional() }).catchall(z.unknown());

/** Figures as plain numbers in, one PNG per figure out (name -> file). */
export const ReportPlots = contract(
  'report-plots',
  z.strictObject({
    out_dir: filePath(),
    figures: z.array(
      z
        .object({
          name: z.string().regex(/^[^/\\]+$/),
          kind: z.enum(['lines', 'parity', 'histogram']),
          title: z.string(),
          series: z.array(Series).optional(),
          values: z.array(z.number()).optional(),
        })
        .catchall(z.unknown()),
    ),
  }),
  z.record(z.string(), z.string()),
);

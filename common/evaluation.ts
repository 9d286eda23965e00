// The shape of every accuracy figure: errors of a potential against DFT labels it never trained on, as
// activities/evaluation/metrics.py computes them (`autopipe evaluate`, the campaign's validation set, the
// benchmarks). Workflow-safe: the campaign status and the report carry these objects.
import { z } from 'zod';

const nullableNumber = z.number().nullable();

/** Errors over one group of structures (a config type, or all of them). Units in the key names. */
export const ErrorMetricsSchema = z.object({
  n_structures: z.number().int(),
  n_atoms: z.number().int(),
  /** Per-atom energy error as predicted (meaningful when the potential's energies are absolute). */
  energy_rmse_mev_atom: z.number(),
  energy_mae_mev_atom: z.number(),
  energy_max_mev_atom: z.number(),
  /** After one constant per element (least squares over the whole set; one element: the mean error). */
  energy_rmse_mev_atom_offset: z.number(),
  energy_mae_mev_atom_offset: z.number(),
  energy_max_mev_atom_offset: z.number(),
  /** Over Cartesian components. */
  forces_rmse_mev_a: z.number(),
  forces_mae_mev_a: z.number(),
  forces_max_mev_a: z.number(),
  /** rms of the reference force components: the scale the errors compare with. */
  forces_ref_rms_mev_a: z.number(),
  /** Over Voigt components of fully periodic structures with a reference stress; null when none. */
  stress_rmse_gpa: nullableNumber,
  stress_mae_gpa: nullableNumber,
  n_stress: z.number().int(),
});
export type ErrorMetrics = z.infer<typeof ErrorMetricsSchema>;

export const EvaluationSummarySchema = z.object({
  /** absolute: energies on the reference's scale (ACE with reference energies, MACE); relative: only the offset-corrected energy errors mean anything. */
  energyScale: z.enum(['absolute', 'relative']),
  offsets_ev_atom: z.record(z.string(), z.number()),
  overall: ErrorMetricsSchema,
  by_group: z.record(z.string(), ErrorMetricsSchema),
});
export type EvaluationSummary = z.infer<typeof EvaluationSummarySchema>;

/** A generation's scores on the campaign's DFT validation set (campaign status, report, `autopipe status`). */
export const GenerationValidationSchema = z.object({
  /** DFT calls the campaign had spent when this potential was fitted (teacher seeds and validation included). */
  dft_calls: z.number().int(),
  /** DFT labels the potential trained on. */
  dft_trained: z.number().int(),
  /** Validation structures scored (the set grows as the campaign goes). */
  structures: z.number().int(),
  potential: EvaluationSummarySchema,
  /** The teacher in use at this generation, on the same structures (absent when it could not be scored). */
  teacher: EvaluationSummarySchema.optional(),
  /** While the teacher's labels are in play: the fit with them against the fit without, and which was kept. */
  variants: z
    .object({
      with_teacher: ErrorMetricsSchema,
      dft_only: ErrorMetricsSchema,
      chosen: z.enum(['with_teacher', 'dft_only']),
    })
    .optional(),
});
export type GenerationValidation = z.infer<typeof GenerationValidationSchema>;

/**
 * A potential's errors structure by structure on one set (metrics.py's rows, in the set's order): what a
 * paired comparison of two potentials on the same structures needs (common/validation.ts pairedDifference).
 */
export const PerStructureErrorsSchema = z.object({
  /** The structures' ids (the store's structure_id): pairs are matched by id, not by position. */
  ids: z.array(z.string()),
  natoms: z.array(z.number().int().positive()),
  /** RMSE over the structure's force components. */
  forces_rmse_mev_a: z.array(z.number()),
  /** Energy per atom, potential minus DFT, after the set's offset. */
  energy_error_mev_atom_offset: z.array(z.number()),
});
export type PerStructureErrors = z.infer<typeof PerStructureErrorsSchema>;

/** One point of the learning curve: a generation's potential on one fixed validation set (the final one). */
export const LearningCurvePointSchema = z.object({
  generation: z.number().int(),
  dft_calls: z.number().int(),
  dft_trained: z.number().int(),
  potential: z.string(),
  overall: ErrorMetricsSchema,
  by_group: z.record(z.string(), ErrorMetricsSchema),
  /** Absent in curves recorded before the hand-over compared generations structure by structure. */
  per_structure: PerStructureErrorsSchema.optional(),
});
export type LearningCurvePoint = z.infer<typeof LearningCurvePointSchema>;

export const LearningCurveSchema = z.object({
  /** Validation structures every point was scored on. */
  structures: z.number().int(),
  points: z.array(LearningCurvePointSchema),
});
export type LearningCurve = z.infer<typeof LearningCurveSchema>;

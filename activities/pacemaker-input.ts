// The campaign's training section as Pacemaker's input.yaml (keys as in pyace's input_template.yaml
// and the pacemaker docs). Pure: the same settings always give the same document.
import type { TrainingSettings } from '../common/campaign-schema';

export interface PacemakerInputOptions {
  elements: string[];
  datasetFile: string;
  testDatasetFile?: string;
  maxiter: number;
  seed: number;
}

/** Radial and angular limits per correlation order: order 1 is the pair term (15 radial functions). */
export function orderLimits(t: TrainingSettings, shrink = 0) {
  const nrad: number[] = [15];
  const lmax: number[] = [0];
  for (let order = 2; order <= t.ranks_max_order; order++) {
    nrad.push(Math.max(1, t.nradmax - 2 * (order - 2) - shrink));
    lmax.push(Math.max(0, t.lmax - (order - 2) - shrink));
  }
  return { nradmax_by_orders: nrad, lmax_by_orders: lmax };
}

export function pacemakerInput(t: TrainingSettings, o: PacemakerInputOptions): Record<string, unknown> {
  const functions: Record<string, unknown> = { number_of_functions_per_element: t.number_of_functions_per_element };
  if (o.elements.length === 1) functions.ALL = orderLimits(t);
  else {
    functions.UNARY = orderLimits(t);
    functions.BINARY = orderLimits(t, 1);
    functions.ALL = orderLimits(t, 2);
  }
  const fit: Record<string, unknown> = {
    loss: { kappa: t.kappa, L1_coeffs: t.L1_coeffs, L2_coeffs: t.L2_coeffs },
    optimizer: t.optimizer,
    maxiter: o.maxiter,
    // ZBL core repulsion is always on: "auto" sets the inner cutoff from the smallest distance per bond
    // in the data; an explicit training.zbl_inner_cutoff fixes it instead (see bonds.r_in below).
    repulsion: 'auto',
    trainable_parameters: 'ALL',
  };
  if (t.weighting === 'energy') {
    fit.weighting = { type: 'EnergyBasedWeightingPolicy', DElow: 1.0, DEup: 10.0, DFup: 50.0, DE: 1.0, DF: 1.0, wlow: 0.75, energy: 'convex_hull', seed: o.seed };
  }
  const bonds: Record<string, unknown> = {
    radbase: t.radial_basis,
    radparameters: [5.25],
    rcut: t.cutoff,
    dcut: 0.01,
    NameOfCutoffFunction: 'cos',
  };
  if (t.zbl_inner_cutoff !== undefined) {
    // The same block settings pyace's `repulsion: auto` applies (generalfit.setup_zbl_inner_core_repulsion).
    Object.assign(bonds, { r_in: t.zbl_inner_cutoff, delta_in: 0.1, 'core-repulsion': [1.0, 1.0], inner_cutoff_type: 'zbl' });
    delete fit.repulsion;
  }
  const data: Record<string, unknown> = { filename: o.datasetFile };
  if (o.testDatasetFile) data.test_filename = o.testDatasetFile;
  else if (t.test_size > 0) data.test_size = t.test_size;
  if (t.reference_energies) data.reference_energy = t.reference_energies;
  return {
    seed: o.seed,
    cutoff: t.cutoff,
    metadata: { origin: 'mlip-autopipe' },
    potential: {
      deltaSplineBins: 0.001,
      elements: o.elements,
      embeddings: { ALL: embedding(t) },
      bonds: { ALL: bonds },
      functions,
    },
    data,
    fit,
    backend: { evaluator: t.backend, batch_size: t.batch_size, display_step: 10 },
  };
}

function embedding(t: TrainingSettings) {
  if (t.embedding === 'Linear') return { npot: 'FinnisSinclairShiftedScaled', fs_parameters: [1, 1], ndensity: 1 };
  return { npot: t.embedding, fs_parameters: [1, 1, 1, 0.5], ndensity: 2 };
}

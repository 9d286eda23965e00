// The campaign's training section as Pacemaker's input.yaml. Keys follow pyace 0.4's own reader
// (cli/pacemaker.py, generalfit.py, preparedata.py, multispecies_basisextension.py) and
// docs/pacemaker/inputfile.md. Pure: the same settings always give the same document.
import type { TrainingSettings } from '../../common/campaign-schema';

/**
 * How a fit starts. scratch: a new basis from the campaign settings. continue: the previous potential
 * has the same basis, so `potential: <file>` resumes all its coefficients. grow: the campaign asks for
 * a larger basis, so `potential.initial_potential` seeds Pacemaker's basis extension with the previous
 * coefficients and the new functions start at zero.
 */
export type FitMode = 'scratch' | 'continue' | 'grow';

export interface PacemakerInputOptions {
  elements: string[];
  datasetFile: string;
  testDatasetFile?: string;
  maxiter: number;
  seed: number;
  /** Iterations between Pacemaker's detailed train/test metrics (test metrics only come at these). */
  displayStep?: number;
  mode?: FitMode;
  /** The previous potential (.yaml) for continue and grow. */
  previousPotential?: string;
  /** Reference energies carried over from the previous potential (grow mode keeps the energy zero). */
  previousReferenceEnergy?: Record<string, number>;
  /** ZBL inner cutoff per bond ("CuCu", "AlCu"), from the pre-flight check; see zblBonds. */
  innerCutoffs?: Record<string, number>;
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

const ZBL = { delta_in: 0.1, 'core-repulsion': [1.0, 1.0], inner_cutoff_type: 'zbl' };

/**
 * ZBL core repulsion, the same block settings pyace's `repulsion: auto` applies
 * (generalfit.setup_zbl_inner_core_repulsion), but written into the bonds before the fit so the fitted
 * model is the deployed one. Below r_in - delta_in only ZBL acts; auto puts r_in at the closest pair of
 * the training data, which hands structures just slightly more compressed than any training one to ZBL
 * (eV-scale errors); the pre-flight check therefore passes the closest pair minus training.zbl_margin.
 */
export function zblBonds(t: TrainingSettings, innerCutoffs?: Record<string, number>): Record<string, unknown> {
  if (t.zbl_inner_cutoff !== undefined) return { ALL: { r_in: t.zbl_inner_cutoff, ...ZBL } };
  return Object.fromEntries(Object.entries(innerCutoffs ?? {}).map(([pair, r]) => [pair, { r_in: r, ...ZBL }]));
}

/** The basis shape (Pacemaker's `potential` section) the campaign asks for. */
export function potentialSection(t: TrainingSettings, elements: string[], innerCutoffs?: Record<string, number>): Record<string, unknown> {
  const functions: Record<string, unknown> = { number_of_functions_per_element: t.number_of_functions_per_element };
  if (elements.length === 1) functions.ALL = orderLimits(t);
  else {
    // Pure-element blocks get the richest basis, pairs less, triples and beyond the least.
    functions.UNARY = orderLimits(t);
    functions.BINARY = orderLimits(t, 1);
    functions.ALL = orderLimits(t, 2);
  }
  const bonds: Record<string, unknown> = {
    radbase: t.radial_basis,
    radparameters: [5.25],
    rcut: t.cutoff,
    dcut: 0.01,
    NameOfCutoffFunction: 'cos',
  };
  const zbl = zblBonds(t, innerCutoffs);
  return {
    deltaSplineBins: 0.001,
    elements: [...elements].sort(),
    embeddings: { ALL: embedding(t) },
    bonds: { ALL: { ...bonds, ...(zbl.ALL as object | undefined) }, ...Object.fromEntries(Object.entries(zbl).filter(([k]) => k !== 'ALL')) },
    functions,
  };
}

export function pacemakerInput(t: TrainingSettings, o: PacemakerInputOptions): Record<string, unknown> {
  const mode = o.mode ?? 'scratch';
  if (mode !== 'scratch' && !o.previousPotential) throw new Error(`fit mode "${mode}" needs the previous potential`);
  const fit: Record<string, unknown> = {
    loss: { kappa: t.kappa, L1_coeffs: t.L1_coeffs, L2_coeffs: t.L2_coeffs },
    optimizer: t.optimizer,
    maxiter: o.maxiter,
    trainable_parameters: 'ALL',
  };
  // ZBL core repulsion is always on: in the bonds (zblBonds), or, when no inner cutoffs were computed,
  // Pacemaker's "auto" (inner cutoff at the closest training pair, set after the fit).
  if (t.zbl_inner_cutoff === undefined && !o.innerCutoffs) fit.repulsion = 'auto';
  if (t.weighting === 'energy') {
    fit.weighting = { type: 'EnergyBasedWeightingPolicy', DElow: 1.0, DEup: 10.0, DFup: 50.0, DE: 1.0, DF: 1.0, wlow: 0.75, energy: 'convex_hull', reftype: 'all', seed: o.seed };
  }

  let potential: unknown;
  if (mode === 'continue') potential = o.previousPotential;
  else if (mode === 'grow') potential = { ...potentialSection(t, o.elements, o.innerCutoffs), initial_potential: o.previousPotential };
  else potential = potentialSection(t, o.elements, o.innerCutoffs);

  const data: Record<string, unknown> = { filename: o.datasetFile };
  if (o.testDatasetFile) data.test_filename = o.testDatasetFile;
  else if (t.test_size > 0) data.test_size = t.test_size;
  // Energies are fitted relative to per-element references. Configured ones always win; a continued
  // potential keeps its own (Pacemaker reads them from the potential's metadata when the key is absent);
  // a grown one gets them passed on; a fresh fit determines them by least squares ("auto").
  if (t.reference_energies) data.reference_energy = t.reference_energies;
  else if (mode === 'grow' && o.previousReferenceEnergy) data.reference_energy = o.previousReferenceEnergy;
  else if (mode !== 'continue') data.reference_energy = 'auto';

  return {
    seed: o.seed,
    metadata: { origin: 'mlip-autopipe', fit_mode: mode },
    potential,
    data,
    fit,
    backend: { evaluator: t.backend, batch_size: t.batch_size, display_step: o.displayStep ?? 10 },
  };
}

function embedding(t: TrainingSettings) {
  if (t.embedding === 'Linear') return { npot: 'FinnisSinclairShiftedScaled', fs_parameters: [1, 1], ndensity: 1 };
  return { npot: t.embedding, fs_parameters: [1, 1, 1, 0.5], ndensity: 2 };
}

// The training section -> Pacemaker input.yaml: every configured value comes back out of the YAML, and
// Pacemaker's own reader accepting it is checked in test/pacemaker-yaml.test.ts (needs pyace).
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { parseCampaign, TrainingSchema } from '../../common/campaign-schema';
import { trainingConfigProblems } from '../../activities/ace/fit';
import { pacemakerInput } from '../../activities/ace/fit-input';
import { fitProgressParser } from '../../activities/ace/fit-progress';

const configured = TrainingSchema.parse({
  cutoff: 5.5,
  number_of_functions_per_element: 33,
  ranks_max_order: 4,
  lmax: 3,
  nradmax: 5,
  radial_basis: 'ChebExpCos',
  embedding: 'FinnisSinclair',
  kappa: 0.12,
  L1_coeffs: 2e-8,
  L2_coeffs: 3e-7,
  weighting: 'energy',
  optimizer: 'L-BFGS-B',
  batch_size: 17,
  test_size: 0.2,
  reference_energies: { Al: -0.25, Cu: -0.5 },
  backend: 'pyace',
});

const opts = { elements: ['Cu', 'Al'], datasetFile: '/data/train.pckl.gzip', maxiter: 77, seed: 5 };

describe('pacemakerInput', () => {
  it('writes every configured value where Pacemaker reads it', () => {
    const doc = YAML.parse(YAML.stringify(pacemakerInput(configured, opts)));
    expect(doc.seed).toBe(5);
    expect(doc.cutoff).toBeUndefined(); // top-level cutoff is deprecated and ignored by pacemaker 0.4
    expect(doc.potential.elements).toEqual(['Al', 'Cu']);
    expect(doc.potential.bonds.ALL).toMatchObject({ rcut: 5.5, radbase: 'ChebExpCos', dcut: 0.01, NameOfCutoffFunction: 'cos' });
    expect(doc.potential.embeddings.ALL).toEqual({ npot: 'FinnisSinclair', fs_parameters: [1, 1, 1, 0.5], ndensity: 2 });
    expect(doc.potential.functions.number_of_functions_per_element).toBe(33);
    // two elements: UNARY (richest), BINARY and ALL blocks; orders 1..4 each
    expect(doc.potential.functions.UNARY).toEqual({ nradmax_by_orders: [15, 5, 3, 1], lmax_by_orders: [0, 3, 2, 1] });
    expect(doc.potential.functions.BINARY).toEqual({ nradmax_by_orders: [15, 4, 2, 1], lmax_by_orders: [0, 2, 1, 0] });
    expect(doc.potential.functions.ALL.nradmax_by_orders).toHaveLength(4);
    expect(doc.data).toEqual({ filename: '/data/train.pckl.gzip', test_size: 0.2, reference_energy: { Al: -0.25, Cu: -0.5 } });
    expect(doc.fit.loss).toEqual({ kappa: 0.12, L1_coeffs: 2e-8, L2_coeffs: 3e-7 });
    expect(doc.fit).toMatchObject({ optimizer: 'L-BFGS-B', maxiter: 77, repulsion: 'auto', trainable_parameters: 'ALL' }); // no inner cutoffs given
    expect(doc.fit.weighting).toMatchObject({ type: 'EnergyBasedWeightingPolicy', energy: 'convex_hull', seed: 5 });
    expect(doc.backend).toEqual({ evaluator: 'pyace', batch_size: 17, display_step: 10 });
  });

  it('puts an explicit ZBL inner cutoff into the bonds instead of repulsion: auto', () => {
    const t = TrainingSchema.parse({ zbl_inner_cutoff: 1.2 });
    const doc = YAML.parse(YAML.stringify(pacemakerInput(t, { ...opts, elements: ['Cu'] })));
    expect(doc.potential.bonds.ALL).toMatchObject({ r_in: 1.2, delta_in: 0.1, inner_cutoff_type: 'zbl', 'core-repulsion': [1, 1] });
    expect(doc.fit.repulsion).toBeUndefined();
    expect(doc.potential.functions.ALL).toBeDefined();
    expect(doc.data.reference_energy).toBe('auto'); // no configured references: Pacemaker fits them
  });

  it('writes per-bond ZBL inner cutoffs (closest training pair minus the margin) into the bonds', () => {
    const doc = YAML.parse(YAML.stringify(pacemakerInput(configured, { ...opts, innerCutoffs: { AlAl: 2.0, AlCu: 2.1, CuCu: 2.2 } })));
    expect(doc.potential.bonds.ALL.r_in).toBeUndefined();
    expect(doc.potential.bonds.AlCu).toEqual({ r_in: 2.1, delta_in: 0.1, 'core-repulsion': [1, 1], inner_cutoff_type: 'zbl' });
    expect(doc.potential.bonds.CuCu.r_in).toBe(2.2);
    expect(doc.fit.repulsion).toBeUndefined(); // the fitted model already contains its ZBL
  });

  it('continues a same-basis potential from its file and grows a larger basis from initial_potential', () => {
    const t = TrainingSchema.parse({});
    const cont = pacemakerInput(t, { ...opts, mode: 'continue', previousPotential: '/p/gen-0/potential.yaml' });
    expect(cont.potential).toBe('/p/gen-0/potential.yaml');
    expect((cont.data as Record<string, unknown>).reference_energy).toBeUndefined(); // kept from the potential's metadata
    const grow = pacemakerInput(t, { ...opts, mode: 'grow', previousPotential: '/p/gen-0/potential.yaml', previousReferenceEnergy: { Al: -1, Cu: -2 } });
    expect(grow.potential).toMatchObject({ initial_potential: '/p/gen-0/potential.yaml', elements: ['Al', 'Cu'] });
    expect((grow.data as Record<string, unknown>).reference_energy).toEqual({ Al: -1, Cu: -2 });
    expect(() => pacemakerInput(t, { ...opts, mode: 'continue' })).toThrow(/needs the previous potential/);
  });
});

describe('trainingConfigProblems', () => {
  it('names the field and the fix', () => {
    const t = TrainingSchema.parse({ cutoff: 4, zbl_inner_cutoff: 4.5, reference_energies: { Cu: -1, Ag: -2 } });
    expect(trainingConfigProblems(t, ['Cu', 'Al'])).toEqual([
      'training.zbl_inner_cutoff: 4.5 Å must be below training.cutoff (4 Å); typical values are 1-2 Å',
      'training.reference_energies: no value for Al (give one per element, or drop the key to let Pacemaker fit them)',
      'training.reference_energies: Ag not in the elements (Cu, Al)',
    ]);
    expect(trainingConfigProblems(TrainingSchema.parse({}), ['Cu'])).toEqual([]);
  });

  it('the same problems are caught when a campaign file is validated', () => {
    const r = parseCampaign({
      system: { name: 'CuAl', elements: ['Cu', 'Al'], prototype: { kind: 'fcc', a: 3.8 } },
      training: { cutoff: 4, zbl_inner_cutoff: 4.5, reference_energies: { Cu: -1 } },
    });
    expect(r).toEqual({ ok: false, errors: ['training.zbl_inner_cutoff: must be below training.cutoff (4 Å)', 'training.reference_energies: no value for Al (give one per element, or drop the key to fit them)'] });
  });
});

describe('fitProgressParser', () => {
  it('turns one-line iterations and FIT/TEST STATS blocks into per-iteration details', () => {
    const parse = fitProgressParser(40);
    const lines = [
      '2026-11-22 05:51:01,581 - pyace.metrics_aggregator - INFO - Initial state:#0    (1 evals):        Loss: 2.3343e-01 | RMSE Energy(low): 42.74 (42.74) meV/at | Forces(low): 507.88 (507.88) meV/A | Time/eval: 30007.42 mcs/at',
      '2026-11-22 05:51:04,947 - pyace.metrics_aggregator - INFO - Initial(TEST):#0    (1 evals):        Loss: 2.1816e-01 | RMSE Energy(low): 31.25 (31.25) meV/at | Forces(low): 491.56 (491.56) meV/A | Time/eval:   0.00 mcs/at',
      '2026-11-22 05:51:05,081 - pyace.metrics_aggregator - INFO - Iteration   #1    (3 evals):        Loss: 1.9231e-01 | RMSE Energy(low): 190.27 (190.27) meV/at | Forces(low): 430.72 (430.72) meV/A | Time/eval: 127.13 mcs/at',
      '--------------------------------------------FIT STATS--------------------------------------------',
      'Iteration:  #10  Loss:    Total:  3.0540e-03 (100%) ',
      '   RMSE:          10.50                10.50                55.00                  55.00',
      '--------------------------------------------TEST STATS--------------------------------------------',
      'Iteration:  #10  Loss:    Total:  1.6941e-03 (100%) ',
      '   RMSE:           8.25                 8.25                40.00                  40.00',
    ];
    const out = lines.map(parse).filter(Boolean);
    expect(out).toEqual([
      { iteration: 0, loss: 0.23343, rmse_energy_mev_atom: 42.74, rmse_forces_mev_a: 507.88, maxiter: 40 },
      { iteration: 1, loss: 0.19231, rmse_energy_mev_atom: 190.27, rmse_forces_mev_a: 430.72, maxiter: 40 },
      { iteration: 10, loss: 0.003054, rmse_energy_mev_atom: 10.5, rmse_forces_mev_a: 55, maxiter: 40 },
      { iteration: 10, loss: 0.003054, rmse_energy_mev_atom: 10.5, rmse_forces_mev_a: 55, maxiter: 40, test_loss: 0.0016941, test_rmse_energy_mev_atom: 8.25, test_rmse_forces_mev_a: 40 },
    ]);
  });
});

// Pacemaker's own reader and basis constructor (pyace) accept the input.yaml written from a training
// section and see the configured values (the pure translation is tested in test/unit/pacemaker-input).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { TrainingSchema } from '../common/campaign-schema';
import { pacemakerInput } from '../activities/ace/fit-input';
import { pyJson } from './helpers/python';
import { tempDir } from './fixtures/training/data';

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

describe('input.yaml read by Pacemaker', () => {
  it('is read by Pacemaker itself: ruamel loads it and pyace builds the configured basis', async () => {
    const dir = tempDir('pace-input');
    const file = path.join(dir, 'input.yaml');
    writeFileSync(file, YAML.stringify(pacemakerInput(configured, { ...opts, innerCutoffs: { AlAl: 2.0, AlCu: 2.1, CuCu: 2.2 } })));
    const r = await pyJson<{ rcut: number[]; radbase: string[]; elements: string[]; nfuncs: Record<string, number>; r_in: Record<string, [number, string]> }>(`
import json, ruamel.yaml as yaml
from pyace import ACEBBasisSet
from pyace.basisextension import construct_bbasisconfiguration
from pyace.activelearning import compute_number_of_functions
doc = yaml.YAML(typ="safe", pure=True).load(open(${JSON.stringify(file)}))
b = construct_bbasisconfiguration(doc["potential"])
basis = ACEBBasisSet(b)
print(json.dumps({"rcut": [x.rcutij for x in b.funcspecs_blocks], "radbase": [x.radbase for x in b.funcspecs_blocks],
  "elements": list(basis.elements_name), "r_in": {x.block_name: [x.r_in, x.inner_cutoff_type] for x in b.funcspecs_blocks},
  "nfuncs": dict(zip(basis.elements_name, map(int, compute_number_of_functions(basis))))}))`);
    expect(r.elements).toEqual(['Al', 'Cu']);
    expect(new Set(r.rcut)).toEqual(new Set([5.5]));
    expect(new Set(r.radbase)).toEqual(new Set(['ChebExpCos']));
    for (const n of Object.values(r.nfuncs)) expect(n).toBeLessThanOrEqual(33);
    expect(r.r_in).toEqual({ Al: [2.0, 'zbl'], Cu: [2.2, 'zbl'], 'Al Cu': [2.1, 'zbl'], 'Cu Al': [2.1, 'zbl'] });
  });
});

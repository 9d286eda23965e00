// Surrogate data (control queue): perturbed copies (rattle + strain) of the new DFT structures, to be
// labelled by the fine-tuned committee, and the weighted training set of DFT labels plus surrogates that
// goes to the ACE trainer.
import path from 'node:path';
import { z } from 'zod';
import { writeDataset } from '../store/datasets';
import { writeFileAtomic } from '../runtime/files';
import { callPython } from '../runtime/python';
import { runLayout } from '../../common/run-layout';

export interface SurrogateParent {
  structure_file: string;
  index: number;
  id: string;
}

export interface MakeSurrogatesInput {
  runDir: string;
  name: string;
  parents: SurrogateParent[];
  perStructure: number;
  rattleSigma: number;
  strainMax: number;
  seed: number;
  minDistance?: number;
}

const SurrogatesResult = z.object({ output: z.string(), ids: z.array(z.string()), parents: z.array(z.string()), rejected: z.number() });
export type SurrogatesOutput = z.infer<typeof SurrogatesResult>;

export async function makeSurrogates(input: MakeSurrogatesInput): Promise<SurrogatesOutput> {
  const dir = runLayout(input.runDir).surrogatesDir;
  return callPython(
    'mace-surrogates',
    {
      parents: input.parents,
      per_structure: input.perStructure,
      rattle_sigma: input.rattleSigma,
      strain_max: input.strainMax,
      seed: input.seed,
      min_distance: input.minDistance ?? 1.5,
      output: path.join(dir, `${input.name}.extxyz`),
    },
    SurrogatesResult,
    { workDir: path.join(dir, 'logs') },
  );
}

export interface TrainingSetEntry {
  structure_file: string;
  index: number;
  label_file: string;
  name: string;
}

export interface AssembleTrainingSetInput {
  runDir: string;
  name: string;
  dft: TrainingSetEntry[];
  surrogates: TrainingSetEntry[];
  /** Training weight of a surrogate relative to a DFT label (1). */
  surrogateWeight: number;
  referenceEnergies?: Record<string, number>;
}

export interface TrainingSetResult {
  /** Every entry with its config_type (dft | surrogate) and weight: the trainer's weighting source. */
  entriesFile: string;
  pckl: string;
  extxyz: string;
  count: number;
  dft: number;
  surrogates: number;
  /** Weights by label oracle (DFT labels are oracle dft, surrogates oracle mace) and by config_type. */
  weights: { byOracle: Record<string, number>; byConfigType: Record<string, number> };
}

/** DFT labels plus surrogates as one dataset in both trainer formats, with the weights recorded. */
export async function assembleTrainingSet(input: AssembleTrainingSetInput): Promise<TrainingSetResult> {
  const dir = runLayout(input.runDir).datasetsDir;
  const entries = [
    ...input.dft.map((e) => ({ ...e, config_type: 'dft', weight: 1 })),
    ...input.surrogates.map((e) => ({ ...e, config_type: 'surrogate', weight: input.surrogateWeight })),
  ];
  const entriesFile = path.join(dir, `${input.name}.entries.json`);
  writeFileAtomic(entriesFile, JSON.stringify(entries, null, 1));
  const ds = await writeDataset({
    workDir: dir,
    entries,
    pckl: path.join(dir, `${input.name}.pckl.gzip`),
    extxyz: path.join(dir, `${input.name}.extxyz`),
    referenceEnergies: input.referenceEnergies,
  });
  return {
    entriesFile,
    pckl: ds.pckl!,
    extxyz: ds.extxyz!,
    count: ds.count,
    dft: input.dft.length,
    surrogates: input.surrogates.length,
    weights: { byOracle: { dft: 1, mace: input.surrogateWeight }, byConfigType: { dft: 1, surrogate: input.surrogateWeight } },
  };
}

// Datasets in the trainers' own formats, written by the dataset helper from stored labels.
import path from 'node:path';
import { z } from 'zod';
import { callPython } from './python';

export interface DatasetEntry {
  structure_file: string;
  index: number;
  label_file: string;
  name: string;
}

export interface WriteDatasetInput {
  workDir: string;
  entries: DatasetEntry[];
  pckl?: string;
  extxyz?: string;
  referenceEnergies?: Record<string, number>;
}

const WriteDatasetResult = z.object({ count: z.number(), pckl: z.string().optional(), extxyz: z.string().optional() });

export async function writeDataset(input: WriteDatasetInput): Promise<z.infer<typeof WriteDatasetResult>> {
  return callPython(
    'dataset-write',
    { entries: input.entries, pckl: input.pckl, extxyz: input.extxyz, reference_energies: input.referenceEnergies ?? {} },
    WriteDatasetResult,
    { workDir: path.join(input.workDir, 'logs') },
  );
}

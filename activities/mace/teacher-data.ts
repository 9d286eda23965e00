// The datasets of a teacher fine-tune (control queue), all exported from the run's store: the new DFT
// labels plus a replay of every earlier DFT label (so a generation with one or two new labels still gives
// mace_run_train a real training and validation split, and the committee does not forget), the new labels
// alone and the held-out ones (scored before and after), and every DFT label so far (the adoption test).
import { exportDataset, type ExportResult } from '../store/datasets';
import { queryStore, storeLabels, type MemberInput } from '../store/store';

export interface LabelRef {
  structureId: string;
  /** The DFT label's settings hash (its store key with the structure id and oracle "dft"). */
  labelKey: string;
}

export interface TeacherDatasetsInput {
  runDir: string;
  /** Names the sets: teacher-gen-<generation>-*. */
  generation: number;
  dir: string;
  newLabels: LabelRef[];
  /** Never trained on: scored only. */
  holdout?: LabelRef[];
  /** Replay earlier DFT labels of the store into the fine-tuning set (default true). */
  replay?: boolean;
}

export interface TeacherDatasets {
  /** New + replayed labels (MACE extxyz). */
  train: string;
  trainCount: number;
  replayed: number;
  /** The new labels alone. */
  fresh: string;
  holdout?: string;
  /** Every DFT label in the store (what adoption is judged on). */
  allDft: string;
  allDftCount: number;
}

const member = (l: LabelRef): MemberInput => ({ id: l.structureId, oracle: 'dft', settings_hash: l.labelKey, weight: 1, config_type: 'dft' });

export async function teacherDatasets(input: TeacherDatasetsInput): Promise<TeacherDatasets> {
  const set = (what: string) => `teacher-gen-${input.generation}-${what}`;
  const exp = (what: string, members: MemberInput[]): Promise<ExportResult> =>
    exportDataset({ runDir: input.runDir, name: set(what), outDir: input.dir, formats: ['extxyz'], sets: [set(what)], define: { set: set(what), generation: input.generation, members } });
  const skip = new Set([...input.newLabels, ...(input.holdout ?? [])].map((l) => l.structureId));
  const replay: MemberInput[] = [];
  if (input.replay ?? true) {
    const all = await queryStore({ runDir: input.runDir, filter: { oracle: 'dft', labelState: 'labelled' }, limit: 1_000_000 });
    // The campaign's validation structures are never trained on (the store refuses them in a fine-tuning set).
    const held = new Set((await queryStore({ runDir: input.runDir, filter: { split: 'validation' }, limit: 1_000_000 })).ids);
    const earlier = all.ids.filter((id) => !skip.has(id) && !held.has(id));
    if (earlier.length) {
      const labels = await storeLabels({ runDir: input.runDir, ids: earlier });
      for (const id of earlier) {
        const dft = (labels[id] ?? []).filter((l) => l.oracle === 'dft' && l.energy !== null).pop(); // the newest real one
        if (dft) replay.push({ id, oracle: 'dft', settings_hash: dft.settingsHash, weight: 1, config_type: 'dft_replay' });
      }
    }
  }
  const train = await exp('finetune', [...input.newLabels.map(member), ...replay]);
  const fresh = await exp('new', input.newLabels.map(member));
  const hold = input.holdout?.length ? await exp('holdout', input.holdout.map(member)) : undefined;
  const all = await exportDataset({ runDir: input.runDir, name: set('all-dft'), outDir: input.dir, formats: ['extxyz'], filter: {}, oracles: ['dft'] });
  return {
    train: train.extxyz!,
    trainCount: train.count,
    replayed: replay.length,
    fresh: fresh.extxyz!,
    holdout: hold?.extxyz,
    allDft: all.extxyz!,
    allDftCount: all.count,
  };
}

// Activities grouped by the task queue whose workers run them (see ARCHITECTURE.md, Task queues).
import { writeDataset } from './datasets';
import { recordDftFailure } from './labels';
import { evaluateMace, trainMace } from './mace';
import { fitAce } from './pacemaker';
import { dftLabel } from './qe';
import { makeStructures } from './structures';

export const controlActivities = { makeStructures, writeDataset, recordDftFailure };
export const dftActivities = { dftLabel };
export const mlActivities = { fitAce, trainMace, evaluateMace };

export type ControlActivities = typeof controlActivities;
export type DftActivities = typeof dftActivities;
export type MlActivities = typeof mlActivities;

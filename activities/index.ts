// Activities grouped by the task queue whose workers run them (see ARCHITECTURE.md, Task queues).
import { datasetInfo, exportDataset, importDataset, writeDataset } from './datasets';
import { recordDftFailure } from './labels';
import { evaluateMace, trainMace } from './mace';
import { fineTuneMace } from './mace-finetune';
import { maceLabelBatch, maceScore } from './mace-label';
import { assembleTrainingSet, makeSurrogates } from './mace-surrogates';
import { recordTeacher } from './mace-teacher';
import { deferRouting, finalizeRouting, recordRouting, storeRouting, writeStructureSubset } from './tiered-oracle';
import { fitAce } from './pacemaker';
import { extrapolationGrade } from './gamma';
import { buildTrainingSet } from './replay';
import { selectDOptimal } from './selection';
import { dftLabel } from './qe';
import { appendDftHistory, prepareCampaign, readDftHistory, writeCampaignReport } from './campaign';
import { exploreMd } from './exploration';
import { addLabelFiles, addLabels, exportStructures, insertStructures, queryStore, storeInfo, storeLabels } from './store';
import { generateStructures, makeStructures } from './structures';

const storeControlActivities = {
  generateStructures, insertStructures, addLabelFiles, addLabels, queryStore, exportStructures, storeLabels, storeInfo,
  exportDataset, importDataset, datasetInfo,
};

const teacherControlActivities = { writeStructureSubset, recordRouting, deferRouting, finalizeRouting, storeRouting, makeSurrogates, assembleTrainingSet, recordTeacher };
const campaignControlActivities = { prepareCampaign, appendDftHistory, readDftHistory, writeCampaignReport };
export const controlActivities = { makeStructures, writeDataset, recordDftFailure, ...campaignControlActivities, ...teacherControlActivities, ...storeControlActivities };
export const dftActivities = { dftLabel };
const aceActivities = { buildTrainingSet, selectDOptimal, extrapolationGrade };
export const mlActivities = { fitAce, trainMace, evaluateMace, maceLabelBatch, maceScore, fineTuneMace, exploreMd, ...aceActivities };

export type ControlActivities = typeof controlActivities;
export type DftActivities = typeof dftActivities;
export type MlActivities = typeof mlActivities;

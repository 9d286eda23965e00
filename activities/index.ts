// Activities grouped by the task queue whose workers run them (docs/architecture.md: layers and groups).
import { datasetInfo, exportDataset, importDataset, writeDataset } from './store/datasets';
import { recordDftFailure } from './dft/failures';
import { evaluateMace, trainMace } from './mace/train';
import { fineTuneMace } from './mace/finetune';
import { maceLabelBatch, maceScore } from './mace/label';
import { assembleTrainingSet, makeSurrogates } from './mace/surrogates';
import { recordTeacher } from './mace/teacher-record';
import { deferRouting, finalizeRouting, recordRouting, storeRouting, writeStructureSubset } from './campaign/routing';
import { fitAce } from './ace/fit';
import { extrapolationGrade } from './ace/gamma';
import { buildTrainingSet } from './ace/replay';
import { selectDOptimal } from './ace/selection';
import { dftLabel } from './dft/qe';
import { appendDftHistory, prepareCampaign, readDftHistory, writeCampaignReport } from './campaign/campaign';
import { exploreMd } from './md/explore';
import { writeHtmlReport } from './report/report';
import { addLabelFiles, addLabels, exportStructures, insertStructures, queryStore, storeInfo, storeLabels } from './store/store';
import { generateStructures, makeStructures } from './structures/generate';

const storeControlActivities = {
  generateStructures, insertStructures, addLabelFiles, addLabels, queryStore, exportStructures, storeLabels, storeInfo,
  exportDataset, importDataset, datasetInfo,
};

const teacherControlActivities = { writeStructureSubset, recordRouting, deferRouting, finalizeRouting, storeRouting, makeSurrogates, assembleTrainingSet, recordTeacher };
const campaignControlActivities = { prepareCampaign, appendDftHistory, readDftHistory, writeCampaignReport, writeHtmlReport };
export const controlActivities = { makeStructures, writeDataset, recordDftFailure, ...campaignControlActivities, ...teacherControlActivities, ...storeControlActivities };
export const dftActivities = { dftLabel };
const aceActivities = { buildTrainingSet, selectDOptimal, extrapolationGrade };
export const mlActivities = { fitAce, trainMace, evaluateMace, maceLabelBatch, maceScore, fineTuneMace, exploreMd, ...aceActivities };

export type ControlActivities = typeof controlActivities;
export type DftActivities = typeof dftActivities;
export type MlActivities = typeof mlActivities;

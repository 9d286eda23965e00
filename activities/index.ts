// Activities grouped by the task queue whose workers run them (docs/architecture.md: layers and groups).
import { datasetInfo, exportDataset, importDataset } from './store/datasets';
import { recordDftFailure } from './dft/failures';
import { evaluateMace, trainMace } from './mace/train';
import { fineTuneMace } from './mace/finetune';
import { fineTuneChgnet, fineTuneSevennet } from './mace/foundation-finetune';
import { fitSevennetReference } from './mace/sevennet-reference';
import { maceLabelBatch, maceScore } from './mace/label';
import { makeSurrogates } from './mace/surrogates';
import { recordTeacher } from './mace/teacher-record';
import { capRouting, finalizeRouting, recordRouting, writeStructureSubset } from './campaign/routing';
import { assembleDftPool, queueTeacherLabelled, splitDftPool } from './campaign/dft-pool';
import { teacherDatasets } from './mace/teacher-data';
import { fitAce } from './ace/fit';
import { extrapolationGrade } from './ace/gamma';
import { buildTrainingSet } from './ace/replay';
import { selectDOptimal } from './ace/selection';
import { dftLabel } from './dft/qe';
import { drawValidation, scoreValidation } from './evaluation/validation';
import { prepareCampaign, writeCampaignReport } from './campaign/campaign';
import { exploreMd } from './md/explore';
import { findResumePoint } from './campaign/resume';
import { writeHtmlReport } from './report/report';
import { addLabelFiles, addLabels, addMembers, exportStructures, insertStructures, queryStore, recordLabels, storeInfo, storeLabels } from './store/store';
import { generateStructures } from './structures/generate';

const storeControlActivities = {
  generateStructures, insertStructures, addLabelFiles, addLabels, recordLabels, addMembers, queryStore, exportStructures, storeLabels, storeInfo,
  exportDataset, importDataset, datasetInfo,
};

const teacherControlActivities = { writeStructureSubset, recordRouting, capRouting, finalizeRouting, makeSurrogates, teacherDatasets, recordTeacher };
const campaignControlActivities = { prepareCampaign, writeCampaignReport, writeHtmlReport, assembleDftPool, splitDftPool, queueTeacherLabelled, findResumePoint, drawValidation };
export const controlActivities = { recordDftFailure, ...campaignControlActivities, ...teacherControlActivities, ...storeControlActivities };
export const dftActivities = { dftLabel };
const aceActivities = { buildTrainingSet, selectDOptimal, extrapolationGrade };
export const mlActivities = { fitAce, trainMace, evaluateMace, maceLabelBatch, maceScore, fineTuneMace, fineTuneChgnet, fineTuneSevennet, fitSevennetReference, exploreMd, scoreValidation, ...aceActivities };

export type ControlActivities = typeof controlActivities;
export type DftActivities = typeof dftActivities;
export type MlActivities = typeof mlActivities;

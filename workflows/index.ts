// Every workflow the control worker registers. Deterministic code only: no I/O, no clocks, no randomness.
export { campaignWorkflow } from './campaign';
export { distillationWorkflow } from './distillation';
export { explorationWorkflow } from './exploration';
export { finetuneWorkflow } from './finetune';
export { labellingWorkflow } from './labelling';
export { smokeWorkflow } from './smoke';
export { maceLabelWorkflow, teacherBootstrapWorkflow, teacherFinetuneWorkflow, tieredOracleWorkflow } from './teacher';
export { singleActivityWorkflow } from './single-activity';

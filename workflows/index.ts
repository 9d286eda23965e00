// Every workflow the control worker registers. Deterministic code only: no I/O, no clocks, no randomness.
export { labellingWorkflow } from './labelling';
export { smokeWorkflow } from './smoke';
export { maceLabelWorkflow, teacherBootstrapWorkflow, teacherFinetuneWorkflow, tieredOracleWorkflow } from './teacher';

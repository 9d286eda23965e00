// Every TypeScript<->Python helper contract, by command name: what scripts/contracts.ts turns into the
// JSON Schemas the Python side validates against (activities/contracts/<command>.json). Each contract is
// defined once, beside the wrapper that calls its command; this registry only collects them.
import { z } from 'zod';
import { AceFitCheck } from '../ace/fit';
import { AceGamma } from '../ace/gamma';
import { AceReplay } from '../ace/replay';
import { AceCandidates, AceSelected } from '../ace/selection';
import { StructuresSubset } from '../campaign/routing';
import { QeRead, QeWrite } from '../dft/qe';
import { MaceInspect, MacePrepareFoundation } from '../mace/finetune';
import { ChgnetFinetune, SevennetFinetune } from '../mace/foundation-finetune';
import { SevennetReference } from '../mace/sevennet-reference';
import { MaceLabel, MaceScore } from '../mace/label';
import { MaceSurrogates } from '../mace/surrogates';
import { MaceEval } from '../mace/train';
import { MdExplore } from '../md/explore';
import { MdEngineInfo } from '../md/engine-checks';
import { MdLammps } from '../md/lammps-handover';
import { EvaluationScore } from '../evaluation/evaluate';
import { DatasetExport, DatasetImport, DatasetInfo } from '../store/datasets';
import { StoreAddLabels, StoreInfo, StoreInsert, StoreLabel, StoreLabels, StoreMembers, StoreQuery, StoreRecord, StoreStructures } from '../store/store';
import { StructuresGenerate, StructuresIndex } from '../structures/generate';
import { SafetyDescribe } from '../safety/campaign-inputs';
import { ReportCollect, ReportHistory, ReportPlots } from '../report/contracts';
import { contract, type Contract } from './contract';

/** `autopipe doctor`: versions of the Python stack (no input). */
export const Versions = contract('versions', z.strictObject({}), z.record(z.string(), z.string()));

const all: Contract[] = [
  Versions, QeWrite, QeRead, MaceEval, MaceLabel, MaceScore, MaceInspect, MacePrepareFoundation, MaceSurrogates, ChgnetFinetune, SevennetFinetune, SevennetReference,
  AceGamma, AceFitCheck, AceCandidates, AceSelected, AceReplay, MdExplore, MdLammps, MdEngineInfo, EvaluationScore, StructuresGenerate, StructuresIndex, StructuresSubset,
  StoreInsert, StoreAddLabels, StoreQuery, StoreStructures, StoreLabels, StoreInfo, StoreRecord, StoreLabel, StoreMembers,
  DatasetExport, DatasetImport, DatasetInfo, SafetyDescribe, ReportCollect, ReportHistory, ReportPlots,
];

export const contracts: Record<string, Contract> = Object.fromEntries(all.map((c) => [c.command, c]));

/** The JSON Schemas of one contract, as the Python side reads them (the raw JSON on the wire: zod's input side). */
export function contractJsonSchema(c: Contract): { command: string; input: unknown; result: unknown } {
  const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
  return { command: c.command, input: schema(c.input), result: schema(c.result) };
}

/** The file content for a contract (stable key order, trailing newline): what the stale-check compares. */
export function contractFile(c: Contract): string {
  return `${JSON.stringify(contractJsonSchema(c), null, 1)}\n`;
}

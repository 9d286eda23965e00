// The teacher's record (control queue): which model files form the committee of a generation, their
// content hashes, how they were made. <runDir>/teacher/<name>.json, read by the CLI and the status.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../runtime/files';
import { runLayout } from '../../common/run-layout';

export async function fileSha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export interface RecordTeacherInput {
  runDir: string;
  name: string;
  kind: 'bootstrap' | 'finetune';
  generation: number;
  models: string[];
  seeds: number[];
  details: Record<string, unknown>;
}

export interface TeacherRecord {
  file: string;
  models: { file: string; sha256: string }[];
}

export async function recordTeacher(input: RecordTeacherInput): Promise<TeacherRecord> {
  const models = [];
  for (const m of input.models) {
    if (!existsSync(m)) throw new Error(`model file vanished before it was recorded: ${m}`);
    models.push({ file: path.resolve(m), sha256: await fileSha256(m) });
  }
  const file = runLayout(input.runDir).teacherRecord(input.name);
  writeFileAtomic(
    file,
    JSON.stringify({ name: input.name, kind: input.kind, generation: input.generation, committee: models.length > 1, models, seeds: input.seeds, ...input.details, recordedAt: new Date().toISOString() }, null, 1),
  );
  return { file, models };
}

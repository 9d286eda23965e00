// A teacher that stepped aside: the generated candidates it labelled join the DFT queue (activities/campaign/dft-pool.ts).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { queueTeacherLabelled } from '../../activities/campaign/dft-pool';

const item = (id: string, index: number, route: string, u: number | null = null) => ({ structureId: id, structureFile: '/run/structures/gen-0-candidates.extxyz', index, route, engine: null, settingsHash: null, uncertainty: u });

describe('queueTeacherLabelled', () => {
  it('appends the accepted (teacher-labelled) items after what already waits, once each', async () => {
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-aside-'));
    const manifest = path.join(runDir, 'manifest.json');
    writeFileSync(manifest, JSON.stringify({ name: 'gen-0-distillation', items: [item('a', 0, 'accept', 0.01), item('b', 1, 'queue', 0.3), item('c', 2, 'accept', 0.02), item('d', 3, 'discard'), item('e', 4, 'accept', 0.05)] }));
    const pending = path.join(runDir, 'pending.json');
    // 'b' waits (teacher-doubted); 'e' already waits too (it must not be queued twice).
    writeFileSync(pending, JSON.stringify([item('b', 1, 'queue', 0.3), item('e', 4, 'queue', 0.05)].map(({ structureId, structureFile, index, uncertainty }) => ({ structureId, structureFile, index, uncertainty }))));
    const q = await queueTeacherLabelled({ runDir, generation: 2, manifest, pending });
    expect(q).toMatchObject({ count: 4, added: 2 });
    expect(q.file).toBe(path.join(runDir, 'selection', 'gen-2', 'pending-teacher-aside.json'));
    const out = JSON.parse(readFileSync(q.file, 'utf8')) as { structureId: string; index: number; uncertainty: number | null }[];
    expect(out.map((o) => o.structureId)).toEqual(['b', 'e', 'a', 'c']);
    expect(out[2]).toEqual({ structureId: 'a', structureFile: '/run/structures/gen-0-candidates.extxyz', index: 0, uncertainty: 0.01 });
  });

  it('with nothing waiting, the queue is the accepted items; a manifest that is not one is refused', async () => {
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-aside-'));
    const manifest = path.join(runDir, 'manifest.json');
    writeFileSync(manifest, JSON.stringify({ items: [item('a', 0, 'accept'), item('b', 1, 'dft')] }));
    const q = await queueTeacherLabelled({ runDir, generation: 0, manifest });
    expect(q).toMatchObject({ count: 1, added: 1 });
    writeFileSync(manifest, JSON.stringify({ entries: [] }));
    await expect(queueTeacherLabelled({ runDir, generation: 0, manifest })).rejects.toThrow(/items/);
  });
});

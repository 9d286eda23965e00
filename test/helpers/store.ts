// Read a label back from a run's store, arrays included, independently of the activities (plain SQL).
import { pyJson } from './python';

export interface StoredLabel {
  settings_hash: string;
  energy: number | null;
  forces: number[][] | null;
  stress: number[] | null;
  uncertainty: number | null;
  energy_std_per_atom: number | null;
  flag: string | null;
  provenance: Record<string, unknown>;
}

/** Every label of `oracle` for these structures (newest last), keyed by structure id. */
export async function storedLabels(runDir: string, ids: string[], oracle: string): Promise<Record<string, StoredLabel[]>> {
  return pyJson(`
import json, math, sqlite3, numpy as np
con = sqlite3.connect(${JSON.stringify(`${runDir}/store.sqlite`)})
out = {}
for sid in ${JSON.stringify(ids)}:
    rows = con.execute("SELECT l.settings_hash, l.energy, l.forces, l.stress, l.uncertainty, l.energy_std_per_atom, l.flag, l.provenance, s.natoms FROM autopipe_labels l JOIN autopipe_structures s USING (structure_id) WHERE l.structure_id=? AND l.oracle=? ORDER BY l.created_at", (sid, ${JSON.stringify(oracle)})).fetchall()
    fin = lambda v: None if v is None or (isinstance(v, float) and math.isinf(v)) else v
    out[sid] = [dict(settings_hash=h, energy=e, forces=None if f is None else np.frombuffer(f, '<f8').reshape(n, 3).tolist(),
                     stress=None if s is None else np.frombuffer(s, '<f8').tolist(), uncertainty=fin(u), energy_std_per_atom=fin(eu), flag=fl,
                     provenance=json.loads(p)) for h, e, f, s, u, eu, fl, p, n in rows]
print(json.dumps(out))`);
}

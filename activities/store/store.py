"""The campaign's structure store: runs/<campaign>/store.sqlite, one SQLite file in WAL mode that is
also a valid ASE database (version 9): `ase db runs/<id>/store.db source=md_halt` (store.db is a symlink
to store.sqlite, since ASE picks its backend from the extension) and `ase gui` read it.

Layout (see docs/store.md for the reasons):
- ASE's own tables (systems, species, keys, text/number_key_values, information) hold each structure's
  geometry once: systems.unique_id is the structure id (content hash, UNIQUE), key-value pairs mirror
  the provenance and a per-oracle label summary for browsing with `ase db`.
- autopipe_structures: provenance as typed, indexed columns (the truth the workflows query).
- autopipe_labels: any number of labels per structure, keyed (structure, oracle, settings hash), never
  overwritten (a failure marker may be replaced by a real label of the same key).
- autopipe_sets: named sets of exact labels (a generation's training data: which label of which
  structure, with which weight), so every dataset and the replay history are exports of the store.
Every write is one BEGIN IMMEDIATE transaction: a batch goes in whole or not at all.
"""
import datetime as _dt
import json
import os
import sqlite3
from contextlib import contextmanager

import numpy as np
from ase import Atoms
from ase.db.core import convert_str_to_int_float_bool_or_str
from ase.db.core import now as ase_now
from ase.db.row import AtomsRow
from ase.db.sqlite import SQLite3Database, index_statements, init_statements

from activities.runtime.protocol import HelperError

SCHEMA_VERSION = 2  # 2: autopipe_sets
BUSY_TIMEOUT_S = 120
ORACLE_PATTERN = "^[a-z][a-z0-9_]{0,31}$"
SPLITS = ("train", "validation", "test")
VALIDATION_SET = "validation"


def is_training_set(name):
    """The named sets a fit reads: ACE's training data and the teacher's fine-tuning sets."""
    return name == "training" or name.endswith("-finetune")

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS autopipe_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS autopipe_structures (
        structure_id TEXT PRIMARY KEY,
        system_id INTEGER NOT NULL UNIQUE REFERENCES systems(id),
        natoms INTEGER NOT NULL CHECK (natoms > 0),
        formula TEXT NOT NULL,
        source TEXT NOT NULL CHECK (length(source) > 0),
        generation INTEGER NOT NULL CHECK (generation >= 0),
        parent_id TEXT,
        split TEXT CHECK (split IS NULL OR split IN ('train', 'validation', 'test')),
        config_type TEXT,
        workflow_id TEXT,
        activity_id TEXT,
        created_at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS autopipe_structures_generation ON autopipe_structures(generation)",
    "CREATE INDEX IF NOT EXISTS autopipe_structures_source ON autopipe_structures(source)",
    """CREATE TABLE IF NOT EXISTS autopipe_labels (
        structure_id TEXT NOT NULL REFERENCES autopipe_structures(structure_id),
        oracle TEXT NOT NULL,
        settings_hash TEXT NOT NULL,
        energy REAL,
        forces BLOB,
        stress BLOB,
        uncertainty REAL,
        energy_std_per_atom REAL,
        extrapolation_grade REAL,
        flag TEXT,
        provenance TEXT NOT NULL,
        workflow_id TEXT,
        activity_id TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (structure_id, oracle, settings_hash),
        CHECK ((energy IS NULL) = (forces IS NULL)),
        CHECK (energy IS NOT NULL OR flag IS NOT NULL))""",
    "CREATE INDEX IF NOT EXISTS autopipe_labels_oracle ON autopipe_labels(oracle, settings_hash)",
    """CREATE TABLE IF NOT EXISTS autopipe_sets (
        set_name TEXT NOT NULL CHECK (length(set_name) > 0),
        structure_id TEXT NOT NULL REFERENCES autopipe_structures(structure_id),
        oracle TEXT NOT NULL,
        settings_hash TEXT NOT NULL,
        weight REAL NOT NULL CHECK (weight >= 0),
        generation INTEGER NOT NULL CHECK (generation >= 0),
        config_type TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (set_name, structure_id))""",
    "CREATE INDEX IF NOT EXISTS autopipe_sets_generation ON autopipe_sets(set_name, generation)",
]


def utc_now():
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds")


def blob(array):
    """float64 little-endian bytes, as ASE stores arrays."""
    return None if array is None else np.ascontiguousarray(array, dtype="<f8").tobytes()


def deblob(buf, shape, dtype="<f8"):
    return None if buf is None else np.frombuffer(buf, dtype=dtype).reshape(shape).copy()


def row_atoms(numbers, positions, cell, pbc):
    """An Atoms from the ASE v9 systems columns (little-endian int32 numbers, float64 arrays, pbc bits)."""
    z = np.frombuffer(numbers, dtype="<i4").astype(int)
    return Atoms(
        numbers=z,
        positions=np.frombuffer(positions, dtype="<f8").reshape(len(z), 3).copy(),
        cell=np.frombuffer(cell, dtype="<f8").reshape(3, 3).copy(),
        pbc=[bool(pbc & 1), bool(pbc & 2), bool(pbc & 4)],
    )


def _ase_text(v):
    """ASE's db refuses text values that read as numbers or bools (its check() raises): an integer
    written exactly so (a Temporal activity id "3") goes in as that number; anything else that would be
    misread (a hash "0012e5...", "True") keeps a '#' prefix. Mirror only: autopipe_structures has the text."""
    v = str(v)
    parsed = convert_str_to_int_float_bool_or_str(v)
    if isinstance(parsed, str):
        return v
    if isinstance(parsed, int) and not isinstance(parsed, bool) and str(parsed) == v:
        return parsed
    return "#" + v


class _AseRows(SQLite3Database):
    """ASE's own row writer, used on our connection inside our transaction: it must never commit on its
    own (ASE commits every 5000 writes by default, which would split an atomic batch)."""

    def managed_connection(self, commit_frequency=None):
        return super().managed_connection(commit_frequency=1 << 62)


class Store:
    def __init__(self, path, create=True):
        self.path = path
        if not os.path.exists(path):
            if not create:
                raise HelperError("InvalidInput", f"no store at {path}: generate or import structures into the run first")
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.con = self._connect()
        self._ensure_schema()
        self._ase_alias()
        self._ase = _AseRows(path, create_indices=True, use_lock_file=False)
        self._ase.connection = self.con
        self._ase.change_count = 0

    def _connect(self):
        try:
            con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes, as WAL documents
            con.execute("PRAGMA foreign_keys=ON")
            return con
        except sqlite3.DatabaseError as err:
            raise HelperError("InvalidInput", f"{self.path} is not a readable store ({err}); point to a run's store.sqlite") from err

    def _schema_version(self):
        """The store's schema version, or None when it has none yet (a read: never waits for a writer)."""
        if not self.con.execute("SELECT count(*) FROM sqlite_master WHERE name='autopipe_meta'").fetchone()[0]:
            return None
        row = self.con.execute("SELECT value FROM autopipe_meta WHERE key='schema_version'").fetchone()
        return None if row is None else int(row[0])

    def _ensure_schema(self):
        version = self._schema_version()
        if version is not None and version > SCHEMA_VERSION:
            raise HelperError("InvalidInput", f"{self.path} was written by a newer autopipe (store schema {version} > {SCHEMA_VERSION}); upgrade autopipe")
        if version == SCHEMA_VERSION:
            return  # readers never take the write lock, so a query does not wait for a long import
        with self.write():
            has_systems = self.con.execute("SELECT count(*) FROM sqlite_master WHERE name='systems'").fetchone()[0]
            if not has_systems:
                for stmt in init_statements + index_statements:
                    self.con.execute(stmt)
            elif not self.con.execute("SELECT count(*) FROM sqlite_master WHERE name='autopipe_meta'").fetchone()[0]:
                n = self.con.execute("SELECT count(*) FROM systems").fetchone()[0]
                if n:
                    raise HelperError("InvalidInput", f"{self.path} is an ASE database but not an autopipe store; import its structures with `autopipe dataset import` instead")
            for stmt in _SCHEMA:
                self.con.execute(stmt)
            row = self.con.execute("SELECT value FROM autopipe_meta WHERE key='schema_version'").fetchone()
            if row is None:
                self.con.execute("INSERT INTO autopipe_meta VALUES ('schema_version', ?), ('created_at', ?)", (str(SCHEMA_VERSION), utc_now()))
            elif int(row[0]) > SCHEMA_VERSION:
                raise HelperError("InvalidInput", f"{self.path} was written by a newer autopipe (store schema {row[0]} > {SCHEMA_VERSION}); upgrade autopipe")
            else:  # an older store: the tables above were added, nothing else changes
                self.con.execute("UPDATE autopipe_meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))

    def _ase_alias(self):
        """`ase db` and `ase gui` pick the backend from the extension and know .db, not .sqlite: a relative
        symlink store.db -> store.sqlite lets them open the store (SQLite follows it to the same WAL)."""
        if not self.path.endswith(".sqlite"):
            return
        alias = self.path[: -len(".sqlite")] + ".db"
        if not os.path.lexists(alias):
            try:
                os.symlink(os.path.basename(self.path), alias)
            except OSError:
                pass  # a filesystem without symlinks: `ase.db.connect(path, type="db")` still works

    def close(self):
        self.con.close()

    @contextmanager
    def write(self):
        """One write transaction that takes the write lock up front, so it never fails half-way on a
        lock upgrade; rolled back on any error."""
        if self.con.in_transaction:
            yield self.con
            return
        self.con.execute("BEGIN IMMEDIATE")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    # -- structures ------------------------------------------------------------------------------------

    def natoms_of(self, ids):
        out = {}
        for chunk in _chunks(list(ids), 900):
            q = f"SELECT structure_id, natoms FROM autopipe_structures WHERE structure_id IN ({','.join('?' * len(chunk))})"
            out.update(dict(self.con.execute(q, chunk).fetchall()))
        return out

    def provenance_of(self, ids):
        out = {}
        for chunk in _chunks(list(ids), 900):
            q = f"SELECT structure_id, source, generation, parent_id FROM autopipe_structures WHERE structure_id IN ({','.join('?' * len(chunk))})"
            for sid, source, gen, parent in self.con.execute(q, chunk):
                out[sid] = {"source": source, "generation": gen, "parent_id": parent}
        return out

    def insert_structures(self, items, on_duplicate="error"):
        """items: [(structure_id, atoms, provenance)] already validated. Inside the caller's transaction
        (or its own). A structure already stored with the same source, generation and parent is a no-op
        (a retried activity); with different provenance it is a DuplicateStructure error unless
        on_duplicate="skip" keeps the stored record. Returns (inserted, existing, skipped) counts; the ids
        inserted by this call are in self.last_inserted (a caller adding their labels next skips the
        ase-db summary update for them: it went in with the row, see label_summary)."""
        inserted = existing = skipped = 0
        self.last_inserted = set()
        with self.write():
            stored = self.provenance_of(sid for sid, _, _ in items)
            for sid, atoms, prov in items:
                old = stored.get(sid)
                if old is not None:
                    same = (old["source"], old["generation"], old["parent_id"]) == (prov["source"], prov["generation"], prov.get("parent_id"))
                    if same:
                        existing += 1
                        continue
                    if on_duplicate == "skip":
                        skipped += 1
                        continue
                    raise HelperError(
                        "DuplicateStructure",
                        f"structure {sid} ({prov.get('where', 'input')}) is already stored as source={old['source']} generation={old['generation']}; "
                        f"refusing to record it again as source={prov['source']} generation={prov['generation']} "
                        "(nothing was written; use on_duplicate skip / --on-duplicate skip to keep the stored record)",
                    )
                self._insert_one(sid, atoms, prov)
                stored[sid] = {"source": prov["source"], "generation": prov["generation"], "parent_id": prov.get("parent_id")}
                self.last_inserted.add(sid)
                inserted += 1
        return inserted, existing, skipped

    def _insert_one(self, sid, atoms, prov):
        clean = Atoms(numbers=atoms.get_atomic_numbers(), positions=atoms.get_positions(), cell=atoms.get_cell(), pbc=atoms.get_pbc())
        row = AtomsRow(clean)
        row.unique_id = sid
        row.ctime = ase_now()
        row.user = os.getenv("USER") or "autopipe"
        kvp = {"source": _ase_text(prov["source"]), "generation": int(prov["generation"])}
        for key in ("parent_id", "split", "config_type", "workflow_id", "activity_id"):
            if prov.get(key):
                kvp[key.replace("_id", "")] = _ase_text(str(prov[key]))
        kvp.update(prov.get("label_summary") or {})
        system_id = self._ase.write(row, key_value_pairs=kvp)
        self.con.execute(
            "INSERT INTO autopipe_structures VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (sid, system_id, len(clean), clean.get_chemical_formula(), prov["source"], int(prov["generation"]), prov.get("parent_id"),
             prov.get("split"), prov.get("config_type"), prov.get("workflow_id"), prov.get("activity_id"), utc_now()),
        )

    # -- labels ----------------------------------------------------------------------------------------

    def add_labels(self, labels, on_duplicate="error", summarised=()):
        """labels: dicts with structure_id, oracle, settings_hash, energy, forces, stress (validated arrays
        or None), uncertainty, energy_std_per_atom, extrapolation_grade, flag, provenance, workflow_id,
        activity_id. Identical re-inserts are no-ops; a different value under the same key is a
        LabelConflict (or skipped with on_duplicate="skip"); a flagged (failed) label may be replaced by
        a real one. Returns (inserted, existing, skipped, replaced). Structures in `summarised` already carry
        their ase-db summary (inserted with label_summary in this transaction)."""
        inserted = existing = skipped = replaced = 0
        with self.write():
            stored = self._labels_by_key(labels)
            for lab in labels:
                key = (lab["structure_id"], lab["oracle"], lab["settings_hash"])
                old = stored.get(key)
                if old is not None:
                    if _same_label(old, lab):
                        existing += 1
                        continue
                    if old[0] is None and (lab.get("energy") is not None or lab.get("flag")):  # a failure record: the newest outcome wins
                        self.con.execute("DELETE FROM autopipe_labels WHERE structure_id=? AND oracle=? AND settings_hash=?", key)
                        replaced += 1
                    elif on_duplicate == "skip":
                        skipped += 1
                        continue
                    else:
                        raise HelperError(
                            "LabelConflict",
                            f"{lab.get('where', 'label')}: structure {key[0]} already has a different {key[1]} label with settings {key[2]} "
                            f"(stored energy {old[0]}, new {lab.get('energy')}); labels are never overwritten: nothing was written "
                            "(use on_duplicate skip / --on-duplicate skip to keep the stored label)",
                        )
                else:
                    inserted += 1
                self.con.execute(
                    "INSERT INTO autopipe_labels VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (*key, lab.get("energy"), blob(lab.get("forces")), blob(lab.get("stress")), _real(lab.get("uncertainty")),
                     _real(lab.get("energy_std_per_atom")), _real(lab.get("extrapolation_grade")), lab.get("flag"),
                     json.dumps(lab.get("provenance") or {}, sort_keys=True), lab.get("workflow_id"), lab.get("activity_id"), utc_now()),
                )
                stored[key] = (lab.get("energy"), blob(lab.get("forces")), blob(lab.get("stress")), lab.get("flag"), lab.get("uncertainty"))
                if lab["structure_id"] not in summarised:
                    self._mirror_label(lab)
        return inserted, existing, skipped, replaced

    def _labels_by_key(self, labels):
        out = {}
        ids = sorted({lab["structure_id"] for lab in labels})
        for chunk in _chunks(ids, 900):
            q = f"SELECT structure_id, oracle, settings_hash, energy, forces, stress, flag, uncertainty FROM autopipe_labels WHERE structure_id IN ({','.join('?' * len(chunk))})"
            for r in self.con.execute(q, chunk):
                out[r[:3]] = r[3:]
        return out

    def _mirror_label(self, lab):
        kvp = label_summary(lab)
        if kvp:
            system_id = self.con.execute("SELECT system_id FROM autopipe_structures WHERE structure_id=?", (lab["structure_id"],)).fetchone()[0]
            self._ase.update(system_id, **kvp)

    # -- queries ---------------------------------------------------------------------------------------

    def select_ids(self, f, limit=None):
        where, params = _filters(f)
        sql = f"SELECT s.structure_id FROM autopipe_structures s {where} ORDER BY s.rowid"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [r[0] for r in self.con.execute(sql, params)]

    def count(self, f):
        where, params = _filters(f)
        return self.con.execute(f"SELECT count(*) FROM autopipe_structures s {where}", params).fetchone()[0]

    def iter_structures(self, ids=None, f=None):
        """(structure_id, atoms, provenance) in insertion order, or in the order of `ids`."""
        cols = "s.structure_id, s.source, s.generation, s.parent_id, s.split, s.config_type, y.numbers, y.positions, y.cell, y.pbc"
        if ids is not None:
            for chunk in _chunks(list(ids), 500):
                q = f"SELECT {cols} FROM autopipe_structures s JOIN systems y ON y.id = s.system_id WHERE s.structure_id IN ({','.join('?' * len(chunk))})"
                rows = {r[0]: r for r in self.con.execute(q, chunk)}
                missing = [i for i in chunk if i not in rows]
                if missing:
                    raise HelperError("InvalidInput", f"{len(missing)} structure id(s) not in the store {self.path}, e.g. {missing[:3]}")
                for sid in chunk:
                    yield _structure_row(rows[sid])
            return
        where, params = _filters(f or {})
        for r in self.con.execute(f"SELECT {cols} FROM autopipe_structures s JOIN systems y ON y.id = s.system_id {where} ORDER BY s.rowid", params):
            yield _structure_row(r)

    def iter_labelled(self, f, oracles, settings_hash=None):
        """(structure_id, atoms, provenance, label) with one usable label per structure: the first oracle in
        `oracles` that labelled it, the newest label of that oracle."""
        where, params = _filters(f)
        marks = ",".join("?" * len(oracles))
        prio = "CASE l.oracle " + " ".join(f"WHEN ? THEN {i}" for i in range(len(oracles))) + " END"
        extra = " AND l.settings_hash = ?" if settings_hash else ""
        sql = (
            "SELECT s.structure_id, s.source, s.generation, s.parent_id, s.split, s.config_type, y.numbers, y.positions, y.cell, y.pbc, "
            "l.oracle, l.settings_hash, l.energy, l.forces, l.stress, s.natoms "
            "FROM autopipe_structures s JOIN systems y ON y.id = s.system_id "
            f"JOIN autopipe_labels l ON l.structure_id = s.structure_id AND l.energy IS NOT NULL AND l.oracle IN ({marks}){extra} "
            f"{where} ORDER BY s.rowid, {prio}, l.created_at DESC"
        )
        args = list(oracles) + ([settings_hash] if settings_hash else []) + params + list(oracles)
        last = None
        for r in self.con.execute(sql, args):
            if r[0] == last:
                continue
            last = r[0]
            sid, atoms, prov = _structure_row(r[:10])
            n = r[15]
            label = {"oracle": r[10], "settings_hash": r[11], "energy": r[12], "forces": deblob(r[13], (n, 3)),
                     "stress": deblob(r[14], (6,))}
            yield sid, atoms, prov, label

    def label(self, structure_id, oracle, settings_hash):
        """One label by its key, with provenance (None when absent)."""
        r = self.con.execute(
            "SELECT energy, flag, provenance, created_at FROM autopipe_labels WHERE structure_id=? AND oracle=? AND settings_hash=?",
            (structure_id, oracle, settings_hash)).fetchone()
        if r is None:
            return None
        return {"energy": r[0], "flag": r[1], "provenance": json.loads(r[2] or "{}"), "created_at": r[3]}

    def labelled_keys(self, ids, oracle, settings_hash):
        """The ids among `ids` that already have a label (real or flagged) under this oracle and settings."""
        out = {}
        for chunk in _chunks(list(ids), 900):
            q = (f"SELECT structure_id, energy, flag, uncertainty, energy_std_per_atom FROM autopipe_labels WHERE oracle=? AND settings_hash=? "
                 f"AND structure_id IN ({','.join('?' * len(chunk))})")
            for sid, energy, flag, unc, estd in self.con.execute(q, [oracle, settings_hash, *chunk]):
                out[sid] = {"energy": energy, "flag": flag, "uncertainty": unc, "energy_std_per_atom": estd}
        return out

    def add_members(self, set_name, generation, members, skip_trained=False):
        """Members [{id, oracle, settings_hash, weight, config_type}] of a named set; each must name a real
        stored label. Re-adding the same member replaces it (a retried activity), so this is idempotent.
        The validation set marks its structures split=validation; a set a fit reads (TRAINING_SETS) refuses
        them, so a validation structure can never be trained on, whichever code path adds it. With
        skip_trained, structures already training data are left out of the validation set instead of
        refusing the whole call. Returns (members added, ids skipped)."""
        skipped = []
        with self.write():
            ids = [m["id"] for m in members]
            if is_training_set(set_name):
                held = self.validation_ids(ids)
                if held:
                    raise HelperError("InvalidInput", f"set {set_name}: {len(held)} structure(s) are in the validation set and are never trained on "
                                      f"(e.g. {sorted(held)[0]}); nothing was written")
            elif set_name == VALIDATION_SET:
                trained = self.members_of_training_sets(ids)
                if trained and skip_trained:
                    skipped = sorted(trained)
                    members = [m for m in members if m["id"] not in trained]
                    ids = [m["id"] for m in members]
                elif trained:
                    raise HelperError("InvalidInput", f"set {set_name}: {len(trained)} structure(s) are already training data (e.g. {sorted(trained)[0]}); "
                                      "a validation structure must never have been trained on; nothing was written")
                self.mark_split(ids, "validation")
            for m in members:
                row = self.con.execute(
                    "SELECT energy FROM autopipe_labels WHERE structure_id=? AND oracle=? AND settings_hash=?",
                    (m["id"], m["oracle"], m["settings_hash"])).fetchone()
                if row is None or row[0] is None:
                    raise HelperError("InvalidInput", f"set {set_name}: structure {m['id']} has no {m['oracle']} label with settings {m['settings_hash']} in {self.path}")
                self.con.execute(
                    "INSERT INTO autopipe_sets VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (set_name, structure_id) DO UPDATE SET "
                    "oracle=excluded.oracle, settings_hash=excluded.settings_hash, weight=excluded.weight, generation=excluded.generation, "
                    "config_type=excluded.config_type",
                    (set_name, m["id"], m["oracle"], m["settings_hash"], float(m.get("weight", 1.0)), int(generation), m.get("config_type"), utc_now()))
        return len(members), skipped

    def validation_ids(self, ids):
        out = set()
        for chunk in _chunks(list(ids), 900):
            q = f"SELECT structure_id FROM autopipe_structures WHERE split='validation' AND structure_id IN ({','.join('?' * len(chunk))})"
            out.update(r[0] for r in self.con.execute(q, chunk))
        return out

    def members_of_training_sets(self, ids):
        out = set()
        for chunk in _chunks(list(ids), 900):
            q = f"SELECT set_name, structure_id FROM autopipe_sets WHERE structure_id IN ({','.join('?' * len(chunk))})"
            out.update(sid for name, sid in self.con.execute(q, chunk) if is_training_set(name))
        return out

    def mark_split(self, ids, split):
        """Set the split of stored structures (and its ase-db mirror key)."""
        if split not in SPLITS:
            raise HelperError("InvalidInput", f"split must be one of {', '.join(SPLITS)} (got {split!r})")
        with self.write():
            for chunk in _chunks(list(ids), 900):
                q = f"SELECT structure_id, system_id, split FROM autopipe_structures WHERE structure_id IN ({','.join('?' * len(chunk))})"
                for sid, system_id, old in self.con.execute(q, chunk).fetchall():
                    if old != split:
                        self.con.execute("UPDATE autopipe_structures SET split=? WHERE structure_id=?", (split, sid))
                        self._ase.update(system_id, split=split)

    def count_members(self, set_names, generation_min=None, generation_max=None, oracles=None):
        conds, params = [f"set_name IN ({','.join('?' * len(set_names))})"], list(set_names)
        if oracles:
            conds.append(f"oracle IN ({','.join('?' * len(oracles))})")
            params += list(oracles)
        for op, v in ((">=", generation_min), ("<=", generation_max)):
            if v is not None:
                conds.append(f"generation {op} ?")
                params.append(int(v))
        return self.con.execute(f"SELECT count(DISTINCT structure_id) FROM autopipe_sets WHERE {' AND '.join(conds)}", params).fetchone()[0]

    def iter_members(self, set_names, generation_min=None, generation_max=None, oracles=None):
        """(structure_id, atoms, provenance, label, weight, config_type) of the members of the named sets,
        in the order they were added; a structure in several sets comes once (its first membership).
        `oracles` keeps only members labelled by those oracles (e.g. a fit without the teacher's labels)."""
        conds = [f"m.set_name IN ({','.join('?' * len(set_names))})"]
        params = list(set_names)
        if oracles:
            conds.append(f"m.oracle IN ({','.join('?' * len(oracles))})")
            params += list(oracles)
        if generation_min is not None:
            conds.append("m.generation >= ?")
            params.append(int(generation_min))
        if generation_max is not None:
            conds.append("m.generation <= ?")
            params.append(int(generation_max))
        sql = (
            "SELECT s.structure_id, s.source, s.generation, s.parent_id, s.split, s.config_type, y.numbers, y.positions, y.cell, y.pbc, "
            "l.oracle, l.settings_hash, l.energy, l.forces, l.stress, s.natoms, m.weight, m.config_type "
            "FROM autopipe_sets m JOIN autopipe_structures s ON s.structure_id = m.structure_id JOIN systems y ON y.id = s.system_id "
            "JOIN autopipe_labels l ON l.structure_id = m.structure_id AND l.oracle = m.oracle AND l.settings_hash = m.settings_hash "
            f"WHERE {' AND '.join(conds)} ORDER BY m.rowid"
        )
        seen = set()
        for r in self.con.execute(sql, params):
            if r[0] in seen:
                continue
            seen.add(r[0])
            sid, atoms, prov = _structure_row(r[:10])
            label = {"oracle": r[10], "settings_hash": r[11], "energy": r[12], "forces": deblob(r[13], (r[15], 3)), "stress": deblob(r[14], (6,))}
            yield sid, atoms, prov, label, r[16], r[17]

    def labels_of(self, ids):
        out = {}
        for chunk in _chunks(list(ids), 900):
            q = (f"SELECT structure_id, oracle, settings_hash, energy, uncertainty, energy_std_per_atom, extrapolation_grade, flag, created_at "
                 f"FROM autopipe_labels WHERE structure_id IN ({','.join('?' * len(chunk))}) ORDER BY created_at")
            for r in self.con.execute(q, chunk):
                out.setdefault(r[0], []).append(dict(zip(
                    ("oracle", "settings_hash", "energy", "uncertainty", "energy_std_per_atom", "extrapolation_grade", "flag", "created_at"), r[1:])))
        return out

    def summary(self):
        c = self.con
        by = lambda sql: {str(k): v for k, v in c.execute(sql)}  # noqa: E731
        elements = sorted({sym for (f,) in c.execute("SELECT DISTINCT formula FROM autopipe_structures") for sym in Atoms(f).get_chemical_symbols()})
        natoms = c.execute("SELECT min(natoms), max(natoms), avg(natoms) FROM autopipe_structures").fetchone()
        labels = [
            {"oracle": o, "settings_hash": h, "labelled": n_ok, "flagged": n_flag}
            for o, h, n_ok, n_flag in c.execute(
                "SELECT oracle, settings_hash, sum(energy IS NOT NULL), sum(energy IS NULL) FROM autopipe_labels GROUP BY oracle, settings_hash ORDER BY oracle")
        ]
        return {
            "store": self.path,
            "schema_version": SCHEMA_VERSION,
            "structures": c.execute("SELECT count(*) FROM autopipe_structures").fetchone()[0],
            "by_generation": by("SELECT generation, count(*) FROM autopipe_structures GROUP BY generation ORDER BY generation"),
            "by_source": by("SELECT source, count(*) FROM autopipe_structures GROUP BY source ORDER BY source"),
            "by_oracle": by("SELECT oracle, count(DISTINCT structure_id) FROM autopipe_labels WHERE energy IS NOT NULL GROUP BY oracle ORDER BY oracle"),
            "unlabelled": c.execute(
                "SELECT count(*) FROM autopipe_structures s WHERE NOT EXISTS (SELECT 1 FROM autopipe_labels l WHERE l.structure_id = s.structure_id AND l.energy IS NOT NULL)").fetchone()[0],
            "labels": labels,
            "elements": elements,
            "natoms": {"min": natoms[0], "max": natoms[1], "mean": natoms[2]},
        }


def label_summary(lab):
    """The newest label per oracle as ase-db key-value pairs: <oracle>_energy, _fstd, _gamma, _flag."""
    o = lab["oracle"]
    kvp = {}
    for key, field in ((f"{o}_energy", "energy"), (f"{o}_fstd", "uncertainty"), (f"{o}_gamma", "extrapolation_grade")):
        v = lab.get(field)
        if v is not None and np.isfinite(v):
            kvp[key] = float(v)
    if lab.get("flag"):
        kvp[f"{o}_flag"] = _ase_text(str(lab["flag"])[:200])
    return kvp


def _real(v):
    if v is None:
        return None
    v = float(v)
    if np.isnan(v):
        raise HelperError("InvalidInput", "an uncertainty or extrapolation grade is NaN")
    return v


def _same_label(old, lab):
    energy, forces, stress, flag, unc = old
    new_forces = blob(lab.get("forces"))
    new_stress = blob(lab.get("stress"))
    return (energy == lab.get("energy") and forces == new_forces and stress == new_stress and flag == lab.get("flag"))


def _structure_row(r):
    sid, source, gen, parent, split, config_type, numbers, positions, cell, pbc = r
    prov = {"source": source, "generation": gen, "parent_id": parent, "split": split, "config_type": config_type}
    return sid, row_atoms(numbers, positions, cell, pbc), prov


def _chunks(seq, n):
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


LABEL_STATES = ("labelled", "unlabelled", "flagged")


def _filters(f):
    """WHERE clause for the queries the workflows need: generation (exact, list, or up to), source(s),
    split, ids, and label state by oracle (and settings hash)."""
    conds, params = [], []
    if f.get("generation") is not None:
        conds.append("s.generation = ?")
        params.append(int(f["generation"]))
    if f.get("generations"):
        conds.append(f"s.generation IN ({','.join('?' * len(f['generations']))})")
        params += [int(g) for g in f["generations"]]
    if f.get("generation_max") is not None:
        conds.append("s.generation <= ?")
        params.append(int(f["generation_max"]))
    sources = f.get("sources") or ([f["source"]] if f.get("source") else [])
    if sources:
        conds.append(f"s.source IN ({','.join('?' * len(sources))})")
        params += list(sources)
    if f.get("split"):
        # a structure without a split is training data (only held-out ones are marked)
        conds.append("(s.split = ? OR s.split IS NULL)" if f["split"] == "train" else "s.split = ?")
        params.append(f["split"])
    state = f.get("label_state") or ("labelled" if f.get("oracle") else None)
    if state:
        if state not in LABEL_STATES:
            raise HelperError("InvalidInput", f"label_state must be one of {LABEL_STATES}, not {state!r}")
        sub = ["l.structure_id = s.structure_id", "l.energy IS NULL" if state == "flagged" else "l.energy IS NOT NULL"]
        if f.get("oracle"):
            sub.append("l.oracle = ?")
            params.append(f["oracle"])
        if f.get("settings_hash"):
            sub.append("l.settings_hash = ?")
            params.append(f["settings_hash"])
        conds.append(f"{'NOT ' if state == 'unlabelled' else ''}EXISTS (SELECT 1 FROM autopipe_labels l WHERE {' AND '.join(sub)})")
    return ("WHERE " + " AND ".join(conds)) if conds else "", params

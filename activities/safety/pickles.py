"""Reading Pacemaker datasets without trusting them: a pickle can name any function and call it while it
loads (a `__reduce__` returning os.system), so every .pckl.gzip is read by an unpickler that resolves only
an allow-list of the classes and functions a Pacemaker DataFrame is made of (pandas, numpy, ASE Atoms,
cells, single-point calculators and constraints). Anything else is refused before it is called.
"""
import _compat_pickle
import gzip
import io
import pickle

from activities.runtime.protocol import HelperError

# (module, name) pairs, each vetted: constructing or calling it with any arguments runs no code of the
# file's choosing and touches no file, process or network. Old module paths of numpy/pandas are listed
# so datasets written by older Pacemaker installations still load.
_ALLOWED = {
    # pandas containers and their internal constructors
    ("pandas", "DataFrame"), ("pandas.core.frame", "DataFrame"),
    ("pandas", "Series"), ("pandas.core.series", "Series"),
    ("pandas", "Index"), ("pandas.core.indexes.base", "Index"), ("pandas.core.indexes.base", "_new_Index"),
    ("pandas", "RangeIndex"), ("pandas.core.indexes.range", "RangeIndex"),
    ("pandas.core.internals.managers", "BlockManager"), ("pandas.core.internals.managers", "SingleBlockManager"),
    ("pandas._libs.internals", "_unpickle_block"), ("pandas.core.internals.blocks", "new_block"),
    ("pandas", "StringDtype"), ("pandas.core.arrays.string_", "StringDtype"),
    ("pandas.arrays", "StringArray"), ("pandas.core.arrays.string_", "StringArray"),
    ("pandas.arrays", "NumpyExtensionArray"), ("pandas.core.arrays.numpy_", "NumpyExtensionArray"),
    ("pandas.core.arrays.numpy_", "PandasArray"),
    ("pandas._libs.arrays", "__pyx_unpickle_NDArrayBacked"),
    ("pandas.core.indexes.numeric", "Int64Index"), ("pandas.core.indexes.numeric", "Float64Index"),
    # numpy arrays, dtypes and scalars
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"), ("numpy.core.numeric", "_frombuffer"),
    # plain Python values
    ("builtins", "slice"), ("builtins", "complex"), ("builtins", "set"), ("builtins", "frozenset"),
    ("builtins", "bytearray"), ("builtins", "object"), ("builtins", "dict"), ("builtins", "list"), ("builtins", "tuple"),
    ("builtins", "int"), ("builtins", "float"), ("builtins", "str"), ("builtins", "bytes"), ("builtins", "bool"),
    ("collections", "OrderedDict"), ("collections", "Counter"), ("collections", "defaultdict"),
    ("copyreg", "_reconstructor"), ("_codecs", "encode"),
    ("datetime", "datetime"), ("datetime", "date"), ("datetime", "timedelta"),
    # ASE structures and what hangs off them in Pacemaker datasets
    ("ase.atoms", "Atoms"), ("ase.cell", "Cell"), ("ase.atom", "Atom"),
    ("ase.calculators.singlepoint", "SinglePointCalculator"), ("ase.calculators.singlepoint", "SinglePointDFTCalculator"),
    ("ase.calculators.singlepoint", "SinglePointKPoint"), ("ase.calculators.calculator", "Parameters"),
    ("ase.spacegroup.spacegroup", "Spacegroup"),
    *(("ase.constraints", c) for c in ("FixAtoms", "FixCartesian", "FixBondLength", "FixBondLengths", "FixedLine",
                                       "FixedPlane", "FixedMode", "FixScaled", "FixCom", "FixLinearTriatomic", "Hookean")),
}

# A calculator's pickled __dict__ holds one bound method (ASE sets it in Calculator.__init__); it comes
# back through getattr, which is otherwise the way out of any allow-list. Only this attribute of these
# objects is granted.
_GETATTR = {"_deprecated_get_spin_polarized"}
_GETATTR_TYPES = ("SinglePointCalculator", "SinglePointDFTCalculator")


class UnsafePickle(pickle.UnpicklingError):
    def __init__(self, module, name):
        super().__init__(f"{module}.{name}")
        self.module, self.name = module, name


def _restricted_getattr(obj, name, *default):
    if type(obj).__name__ in _GETATTR_TYPES and type(obj).__module__ == "ase.calculators.singlepoint" and name in _GETATTR:
        return getattr(obj, name, *default)
    raise UnsafePickle("builtins", f"getattr(<{type(obj).__name__}>, {name!r})")


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        # Python 2 names (protocols 0-2), renamed as pickle itself does; a rename never widens the list.
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        else:
            module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        if (module, name) in (("builtins", "getattr"), ("__builtin__", "getattr")):
            return _restricted_getattr
        if (module, name) not in _ALLOWED:
            raise UnsafePickle(module, name)
        try:
            from pandas.compat.pickle_compat import _class_locations_map  # classes pandas moved since
            module, name = _class_locations_map.get((module, name), (module, name))
        except ImportError:
            pass
        return super().find_class(module, name)


def loads(data):
    return RestrictedUnpickler(io.BytesIO(data)).load()


def read_pickle(path, what="dataset"):
    """The object in a (gzip-)pickled file, through the restricted unpickler. Raises HelperError."""
    try:
        with open(path, "rb") as fh:
            gz = fh.read(2) == b"\x1f\x8b"
        with (gzip.open(path, "rb") if gz else open(path, "rb")) as fh:
            return RestrictedUnpickler(fh).load()
    except FileNotFoundError:
        raise HelperError("InvalidInput", f"{what} not found: {path}") from None
    except UnsafePickle as err:
        raise HelperError(
            "UnsafeInput",
            f"{path}: refused to load {err.module}.{err.name}: a Pacemaker dataset holds only pandas, numpy and ASE "
            f"objects, and this file names something else that would run while it is read (a pickle can carry code). "
            f"Nothing from it was executed. Re-create the dataset from a source you trust (e.g. `autopipe dataset export`) "
            f"or convert it to extxyz.",
        ) from None
    except (OSError, EOFError, gzip.BadGzipFile, ValueError, pickle.UnpicklingError, ImportError, AttributeError, TypeError, IndexError, KeyError) as err:
        raise HelperError("InvalidInput", f"cannot read {path} as a gzip-pickled pandas DataFrame (Pacemaker's format): {type(err).__name__}: {err}") from None


def read_dataframe(path, what="dataset"):
    """A pandas DataFrame from a .pckl.gzip, read without executing anything the file names."""
    import pandas as pd

    obj = read_pickle(path, what)
    if not isinstance(obj, pd.DataFrame):
        raise HelperError("InvalidInput", f"{what} {path} holds a {type(obj).__name__}, not a pandas DataFrame (Pacemaker's format)")
    return obj

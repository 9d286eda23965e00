"""md-engine-info: what `autopipe doctor` reports about the exploration engine (no kernel is compiled)."""
import glob
import importlib
import os


def info(_p):
    out = {"engine": "ace-numba (activities/md: numba kernel and neighbour lists)"}
    for mod in ("numba", "llvmlite", "pyace", "numpy"):
        try:
            out[mod] = str(getattr(importlib.import_module(mod), "__version__", "unknown"))
        except Exception as err:  # doctor shows which one is broken
            out[mod] = f"ERROR: {type(err).__name__}: {err}"
    try:
        import numba

        threads = os.environ.get("AUTOPIPE_ML_THREADS")
        out["threads"] = int(threads) if threads and threads.isdigit() else numba.config.NUMBA_NUM_THREADS
        out["threads_from"] = "AUTOPIPE_ML_THREADS" if threads else "all cores (set AUTOPIPE_ML_THREADS to limit)"
        out["threading_layer"] = numba.config.THREADING_LAYER
        from llvmlite import binding

        binding.initialize_native_target()
        out["cpu"] = binding.get_host_cpu_name()
    except Exception as err:
        out["threads"] = f"ERROR: {err}"
    cache = os.path.join(os.path.dirname(__file__), "__pycache__")
    compiled = glob.glob(os.path.join(cache, "ace_kernel.compute-*.nbi"))
    out["kernel_cache"] = "compiled" if compiled else "not compiled yet (the first exploration compiles it, about a minute)"
    return out

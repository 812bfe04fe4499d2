#!/usr/bin/env bash
# Installs the inference runtimes earshot's classifier needs, from PyPI wheels, into .earshot/
# (git-ignored). Only the shared libraries are kept, not a Python environment:
#   .earshot/libtorch/{lib,include}   libtorch 2.4 CPU libraries (+ the two small CUDA stubs libtorch_cpu
#                                     links against) and headers, for tch / rust-bert (LIBTORCH)
#   .earshot/onnxruntime/             libonnxruntime.so from the onnxruntime wheel (ORT_DYLIB_PATH)
# Idempotent: does nothing when the libraries are already there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD/.earshot"
TORCH_VERSION=2.4.0
ORT_VERSION=1.31.1
PY=${PYTHON:-python3}

if [ -f "$ROOT/libtorch/.complete-$TORCH_VERSION" ] && [ -f "$ROOT/onnxruntime/.complete-$ORT_VERSION" ]; then
  exit 0
fi
mkdir -p "$ROOT/wheels"
echo "runtime: downloading torch==$TORCH_VERSION (CPU libraries only are kept) and onnxruntime==$ORT_VERSION"
"$PY" -m pip download -q --no-deps --only-binary :all: -d "$ROOT/wheels" \
  "torch==$TORCH_VERSION" nvidia-cuda-runtime-cu12==12.1.105 nvidia-cuda-cupti-cu12==12.1.105 \
  "onnxruntime==$ORT_VERSION"

"$PY" - "$ROOT" "$TORCH_VERSION" "$ORT_VERSION" <<'PY'
import glob, os, shutil, sys, zipfile
root, torch_version, ort_version = sys.argv[1:4]
wheels = os.path.join(root, "wheels")

def wheel(prefix):
    found = sorted(glob.glob(os.path.join(wheels, prefix + "-*.whl")))
    if not found:
        sys.exit(f"runtime: no wheel {prefix} in {wheels}")
    return zipfile.ZipFile(found[-1])

lt = os.path.join(root, "libtorch")
shutil.rmtree(lt, ignore_errors=True)
os.makedirs(os.path.join(lt, "lib"))
keep = ("libc10.so", "libtorch_cpu.so", "libtorch.so", "libshm.so")
with wheel(f"torch-{torch_version}") as z:
    for name in z.namelist():
        base = os.path.basename(name)
        if name.startswith("torch/lib/") and (base in keep or base.startswith("libgomp")):
            with z.open(name) as src, open(os.path.join(lt, "lib", base), "wb") as dst:
                shutil.copyfileobj(src, dst)
        elif name.startswith("torch/include/") and not name.endswith("/"):
            out = os.path.join(lt, "include", name[len("torch/include/"):])
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with z.open(name) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
# libtorch_cpu.so needs these two at load time even on CPU; libtorch_cuda is deliberately absent.
for prefix, inner in (("nvidia_cuda_runtime_cu12", "libcudart.so.12"), ("nvidia_cuda_cupti_cu12", "libcupti.so.12")):
    with wheel(prefix) as z:
        name = next(n for n in z.namelist() if n.endswith("/" + inner))
        with z.open(name) as src, open(os.path.join(lt, "lib", inner), "wb") as dst:
            shutil.copyfileobj(src, dst)
open(os.path.join(lt, f".complete-{torch_version}"), "w").close()

ort = os.path.join(root, "onnxruntime")
shutil.rmtree(ort, ignore_errors=True)
os.makedirs(ort)
with wheel(f"onnxruntime-{ort_version}") as z:
    name = next(n for n in z.namelist() if os.path.basename(n).startswith("libonnxruntime.so"))
    with z.open(name) as src, open(os.path.join(ort, "libonnxruntime.so"), "wb") as dst:
        shutil.copyfileobj(src, dst)
open(os.path.join(ort, f".complete-{ort_version}"), "w").close()
PY
rm -rf "$ROOT/wheels"
du -sh "$ROOT/libtorch/lib" "$ROOT/onnxruntime" | sed 's/^/runtime: /'

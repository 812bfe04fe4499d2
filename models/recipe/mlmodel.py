"""The classifier: multilingual-e5-small's XLM-R encoder, masked mean pooling (how e5 was trained to embed a text),
dropout and one linear layer to the three labels. Saved as model.safetensors (encoder weights under `encoder.`,
head under `head.`) + config.json (XLMRobertaConfig with id2label)."""
import json
import os

import torch
from transformers import PreTrainedTokenizerFast, XLMRobertaConfig, XLMRobertaModel

from common import LABEL2ID, LABELS, MAX_LEN


class MeanPoolClassifier(torch.nn.Module):
    def __init__(self, config: XLMRobertaConfig, dropout=0.1):
        super().__init__()
        self.config = config
        self.encoder = XLMRobertaModel(config, add_pooling_layer=False)
        self.dropout = torch.nn.Dropout(dropout)
        self.head = torch.nn.Linear(config.hidden_size, len(LABELS))

    def forward(self, input_ids, attention_mask):
        h = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        m = attention_mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
        return self.head(self.dropout(pooled))

    @classmethod
    def from_base(cls, base_dir):
        """Encoder from convert_base.py's XLMRobertaModel checkpoint, new head (normal(0, 0.02), bias 0)."""
        from safetensors.torch import load_file

        config = XLMRobertaConfig.from_pretrained(base_dir)
        config.id2label = dict(enumerate(LABELS))
        config.label2id = LABEL2ID
        model = cls(config)
        missing, unexpected = model.encoder.load_state_dict(load_file(os.path.join(base_dir, "model.safetensors")),
                                                            strict=False)
        missing = [k for k in missing if "position_ids" not in k]
        if missing or unexpected:
            raise SystemExit(f"base checkpoint mismatch: missing {missing}, unexpected {unexpected}")
        torch.nn.init.normal_(model.head.weight, std=0.02)
        torch.nn.init.zeros_(model.head.bias)
        return model

    @classmethod
    def load(cls, model_dir, attn_implementation=None):
        from safetensors.torch import load_file

        kw = {"attn_implementation": attn_implementation} if attn_implementation else {}
        config = XLMRobertaConfig.from_pretrained(model_dir, **kw)
        model = cls(config)
        missing, unexpected = model.load_state_dict(load_file(os.path.join(model_dir, "model.safetensors")), strict=False)
        missing = [k for k in missing if "position_ids" not in k]
        if missing or unexpected:
            raise SystemExit(f"checkpoint mismatch in {model_dir}: missing {missing}, unexpected {unexpected}")
        return model.eval()

    def save(self, out_dir):
        from safetensors.torch import save_file

        os.makedirs(out_dir, exist_ok=True)
        state = {k: v.detach().contiguous() for k, v in self.state_dict().items() if "position_ids" not in k}
        save_file(state, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
        self.config.id2label = dict(enumerate(LABELS))
        self.config.label2id = LABEL2ID
        self.config.architectures = ["MeanPoolClassifier (XLMRobertaModel + masked mean pooling + linear)"]
        self.config.to_json_file(os.path.join(out_dir, "config.json"))


def load_tokenizer(path):
    """tokenizer.json (a file, or a folder holding one): truncation to MAX_LEN tokens including <s>/</s>, no padding."""
    if os.path.isdir(path):
        path = os.path.join(path, "tokenizer.json")
    tok = PreTrainedTokenizerFast(tokenizer_file=path, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                  pad_token="<pad>", cls_token="<s>", sep_token="</s>", mask_token="<mask>",
                                  model_max_length=MAX_LEN)
    assert tok.pad_token_id == 1 and tok.convert_tokens_to_ids("<s>") == 0 and tok.convert_tokens_to_ids("</s>") == 2
    tok.backend_tokenizer.no_padding()
    tok.backend_tokenizer.enable_truncation(max_length=MAX_LEN)
    return tok


def encode(tok, texts):
    return [e.ids for e in tok.backend_tokenizer.encode_batch(list(texts))]


def read_config(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        return json.load(f)

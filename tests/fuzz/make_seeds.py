"""Writes the small seed corpora of the tests/fuzz targets into tests/fuzz/seeds/ (committed; run
again only to change them): python3 tests/fuzz/make_seeds.py"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(kind, name, data):
    d = os.path.join(HERE, "seeds", kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def st(header, data=b"", pad=True):
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


# ---- safetensors ----------------------------------------------------------------------------
f32 = struct.pack("<6f", 1, 2, 3, 4, 5, 6)
put("safetensors", "two_tensors", st({
    "__metadata__": {"format": "pt", "emolab.labels": "anger,joy"},
    "w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
    "b": {"dtype": "F32", "shape": [3], "data_offsets": [24, 36]}}, f32 + struct.pack("<3f", 0, 1, 2)))
put("safetensors", "dtypes", st({
    "h": {"dtype": "F16", "shape": [], "data_offsets": [0, 2]},
    "bf": {"dtype": "BF16", "shape": [1], "data_offsets": [2, 4]},
    "i": {"dtype": "I64", "shape": [1, 1], "data_offsets": [8, 16]},
    "m": {"dtype": "BOOL", "shape": [2], "data_offsets": [4, 6]},
    "e": {"dtype": "U8", "shape": [0, 5], "data_offsets": [6, 6]}}, bytes(16)))
put("safetensors", "empty", st({}))
put("safetensors", "overlap", st({
    "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
    "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, bytes(12)))
put("safetensors", "truncated", st({"a": {"dtype": "F64", "shape": [4], "data_offsets": [0, 32]}}, bytes(8)))
put("safetensors", "header_too_long", struct.pack("<Q", 1 << 40) + b"{}")

# ---- the hub's model API answer ---------------------------------------------------------------
sha = "0123456789abcdef0123456789abcdef01234567"
put("hub_listing", "model", json.dumps({
    "_id": "x", "id": "org/name", "sha": sha, "private": False,
    "siblings": [{"rfilename": ".gitattributes"}, {"rfilename": "config.json"},
                 {"rfilename": "model.safetensors"}, {"rfilename": "onnx/model.onnx"},
                 {"rfilename": "tokenizer.json"}]}, indent=1))
put("hub_listing", "unsafe", json.dumps({"sha": sha, "siblings": [{"rfilename": "../../etc/passwd"}]}))
put("hub_listing", "no_sha", json.dumps({"siblings": []}))
put("hub_listing", "html", "<!doctype html><html><body>Sign in</body></html>")

# ---- response headers of a resolve HEAD --------------------------------------------------------
put("http_headers", "lfs_redirect", "HTTP/1.1 302 Found\r\n"
    "Location: https://cdn-lfs.example/repos/ab/cd/blob?X-Amz=1\r\n"
    f"X-Repo-Commit: {sha}\r\n"
    "X-Linked-Etag: \"5e1f6a6f3c4f9c0f0a7e1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a\"\r\n"
    "X-Linked-Size: 711396\r\nETag: W/\"abc\"\r\nContent-Length: 1311\r\n\r\n")
put("http_headers", "plain_file", "HTTP/2 200\r\ncontent-type: application/json\r\n"
    f"x-repo-commit: {sha}\r\netag: \"0a1b2c3d4e5f60718293a4b5c6d7e8f901234567\"\r\n"
    "content-length: 654\r\n\r\n")
put("http_headers", "renamed_repo", "HTTP/1.1 307 Temporary Redirect\r\n"
    "Location: /new-org/name/resolve/main/config.json\r\n\r\n"
    "HTTP/1.1 200 OK\r\nX-Repo-Commit: " + sha + "\r\nETag: \"deadbeef\"\r\n\r\n")
put("http_headers", "error", "HTTP/1.1 401 Unauthorized\r\nX-Error-Code: GatedRepo\r\n"
    "X-Error-Message: Access to model org/name is restricted.\r\n"
    "X-Ref: org/name@refs/pr/3\r\nX-File: sub/dir/tokenizer.json\r\n\r\n")

# ---- CSV (byte 0 picks the reader's limits and the header flag: see tests/data/fuzz_targets.h) --
put("csv", "goemotions", b"\x00" + "ru_text,labels,id\n\"Привет, мир\",\"[1, 2]\",e1\nok,[27],e2\r\n".encode())
put("csv", "quotes", b"\xfe" + b'a,b\n"x ""y"" z","multi\nline"\n\n5" screen,c\n')
put("csv", "no_header_bom", b"\x01" + b"\xef\xbb\xbfone,two\rthree,four")
put("csv", "bad_quote", b"\x00" + b'a,b\n"ab"c,d\n"open')

# ---- label maps ---------------------------------------------------------------------------------
put("labels", "small", """name: tiny
labels: [anger, joy, neutral]
maps:
  goemotions:
    0: joy
    2: anger
    27: neutral
    9: ~
  izard: {anger: anger, joy: [joy], enthusiasm: joy}
""")
put("labels", "anchors", "name: a\nlabels: [x, y]\nmaps:\n  m: &m {1: x, 2: y}\n  n: *m\n")

# ---- texts for the normaliser -------------------------------------------------------------------
put("normalize", "ru", "  Какой  чудесный\tдень!\u00a0Ёлка\r\n\u200b эмодзи \U0001F600 ")
put("normalize", "invalid_utf8", b"ok \xd0 \xff\xfe abc \xe2\x82 end")

# ---- config.json of Hugging Face encoders --------------------------------------------------------
put("hf_config", "bert", json.dumps({
    "architectures": ["BertForMaskedLM"], "model_type": "bert", "vocab_size": 120,
    "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64,
    "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
    "max_position_embeddings": 64, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
    "pad_token_id": 0, "position_embedding_type": "absolute"}, indent=2))
put("hf_config", "xlm_roberta", json.dumps({
    "model_type": "xlm-roberta", "vocab_size": 250, "hidden_size": 48, "num_hidden_layers": 1,
    "num_attention_heads": 6, "intermediate_size": 96, "hidden_act": "gelu",
    "max_position_embeddings": 66, "type_vocab_size": 1, "pad_token_id": 1, "bos_token_id": 0,
    "eos_token_id": 2, "layer_norm_eps": 1e-5, "id2label": {"0": "anger", "1": "joy"},
    "label2id": {"anger": 0, "joy": 1}, "problem_type": "multi_label_classification"}))
put("hf_config", "distilbert", json.dumps({
    "model_type": "distilbert", "vocab_size": 100, "dim": 32, "n_layers": 2, "n_heads": 2,
    "hidden_dim": 64, "activation": "gelu", "dropout": 0.1, "attention_dropout": 0.1,
    "max_position_embeddings": 40, "sinusoidal_pos_embds": True, "pad_token_id": 0}))
put("hf_config", "unsupported", json.dumps({
    "model_type": "bert", "hidden_size": 30, "num_attention_heads": 4,
    "position_embedding_type": "relative_key", "is_decoder": True, "hidden_act": "swish"}))

# ---- model.safetensors.index.json of sharded checkpoints ----------------------------------------
put("st_index", "two_shards", json.dumps({
    "metadata": {"total_size": 123456},
    "weight_map": {"bert.embeddings.word_embeddings.weight": "model-00001-of-00002.safetensors",
                   "bert.encoder.layer.0.attention.self.query.weight": "model-00001-of-00002.safetensors",
                   "bert.pooler.dense.weight": "model-00002-of-00002.safetensors"}}, indent=2))
put("st_index", "escape", json.dumps({"weight_map": {"a": "../outside.safetensors", "b": "/etc/x"}}))
put("st_index", "empty", json.dumps({"weight_map": {}}))
put("st_index", "not_object", json.dumps({"weight_map": ["a.safetensors"]}))

/* tiny_tokenizers.h: three hand-written tokenizer.json buffers (WordPiece + BertNormalizer,
 * byte-level BPE, Unigram + NFKC/Replace/Metaspace) shared by the C test and the fuzz targets. */
#ifndef EL_TINY_TOKENIZERS_H
#define EL_TINY_TOKENIZERS_H

static const char *const WP =
    "{\"version\":\"1.0\",\"truncation\":{\"max_length\":12},\"padding\":null,"
    "\"added_tokens\":[{\"id\":0,\"content\":\"[PAD]\",\"special\":true,\"normalized\":false},"
    "{\"id\":1,\"content\":\"[UNK]\",\"special\":true},{\"id\":2,\"content\":\"[CLS]\",\"special\":true},"
    "{\"id\":3,\"content\":\"[SEP]\",\"special\":true},{\"id\":4,\"content\":\"[MASK]\",\"special\":true}],"
    "\"normalizer\":{\"type\":\"BertNormalizer\",\"clean_text\":true,\"handle_chinese_chars\":true,"
    "\"strip_accents\":null,\"lowercase\":true},"
    "\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"},"
    "\"post_processor\":{\"type\":\"BertProcessing\",\"sep\":[\"[SEP]\",3],\"cls\":[\"[CLS]\",2]},"
    "\"decoder\":{\"type\":\"WordPiece\"},"
    "\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"continuing_subword_prefix\":\"##\","
    "\"max_input_chars_per_word\":10,\"vocab\":{\"[PAD]\":0,\"[UNK]\":1,\"[CLS]\":2,\"[SEP]\":3,"
    "\"[MASK]\":4,\"\xd0\xb5\xd0\xbb\":5,\"##\xd0\xba\xd0\xb0\":6,\"\xd0\xb8\xd0\xbe\xd0\xb4\":7,\"!\":8,"
    "\"\xd0\xb5\":9,\"##\xd0\xbb\":10}}}";

static const char *const BPE =
    "{\"added_tokens\":[{\"id\":0,\"content\":\"<s>\",\"special\":true},{\"id\":1,\"content\":\"<pad>\",\"special\":true},"
    "{\"id\":2,\"content\":\"</s>\",\"special\":true},{\"id\":3,\"content\":\"<mask>\",\"special\":true,\"lstrip\":true}],"
    "\"normalizer\":null,\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"use_regex\":true},"
    "\"post_processor\":{\"type\":\"RobertaProcessing\",\"sep\":[\"</s>\",2],\"cls\":[\"<s>\",0]},"
    "\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":null,\"vocab\":{\"<s>\":0,\"<pad>\":1,\"</s>\":2,"
    "\"<mask>\":3,\"\xc4\xa0\":4,\"a\":5,\"b\":6,\"\xc4\xa0" "a\":7,\"\xc4\xa0" "ab\":8,\"ab\":9},"
    "\"merges\":[\"\xc4\xa0 a\",\"\xc4\xa0" "a b\",[\"a\",\"b\"]]}}";

static const char *const UNI =
    "{\"added_tokens\":[{\"id\":0,\"content\":\"<s>\",\"special\":true},{\"id\":1,\"content\":\"<pad>\",\"special\":true},"
    "{\"id\":2,\"content\":\"</s>\",\"special\":true},{\"id\":3,\"content\":\"<unk>\",\"special\":true}],"
    "\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFKC\"},{\"type\":\"Replace\","
    "\"pattern\":{\"Regex\":\" {2,}\"},\"content\":\" \"}]},"
    "\"pre_tokenizer\":{\"type\":\"Metaspace\",\"replacement\":\"\xe2\x96\x81\",\"add_prefix_space\":true},"
    "\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},"
    "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},{\"SpecialToken\":{\"id\":\"</s>\",\"type_id\":0}}],"
    "\"special_tokens\":{\"<s>\":{\"id\":\"<s>\",\"ids\":[0],\"tokens\":[\"<s>\"]},"
    "\"</s>\":{\"id\":\"</s>\",\"ids\":[2],\"tokens\":[\"</s>\"]}}},"
    "\"model\":{\"type\":\"Unigram\",\"unk_id\":3,\"byte_fallback\":false,\"vocab\":[[\"<s>\",0.0],[\"<pad>\",0.0],"
    "[\"</s>\",0.0],[\"<unk>\",0.0],[\"\xe2\x96\x81\",-2.0],[\"a\",-3.0],[\"b\",-3.0],[\"\xe2\x96\x81" "ab\",-4.5],"
    "[\"ab\",-5.0],[\"\xe2\x96\x81" "a\",-3.5]]}}";

#endif

"""Shared helpers of the tests/hf scripts: data paths, hard cases, the C driver."""
import csv, os, random, subprocess, sys

DATA = os.environ.get("EMOLAB_DATA") or os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")
TRAIN = os.path.join(DATA, "ru_go_emotions_djacon", "derived", "train_aligned_to_goemotions.csv")
VAL = os.path.join(DATA, "ru_go_emotions", "older_version_c0703d7", "ru-go-emotions-simplified-validation.csv")


def read_column(path, col="ru_text"):
    csv.field_size_limit(1 << 30)
    with open(path, newline="", encoding="utf-8") as f:
        return [row[col] for row in csv.DictReader(f)]


def hard_cases():
    """Texts that exercise the corners of normalizers, pre-tokenizers and models."""
    h = [
        "", " ", "   ", "\t", "\n", "\r\n", " \t \n ", "\u3000", "\u00a0", "\u2003\u2009", "\u200b", "\ufeff",
        "Ёжик ёлка ЁЛКА йогурт ЙОД Йошкар-Ола майонез", "ёё йй ЁЁ ЙЙ", "и\u0306 е\u0308 (decomposed й ё)",
        "😀", "😀😃😄", "👍🏽 👨‍👩‍👧‍👦 🇷🇺 🏳️‍🌈 ❤️ ☺️ 🥰🥺🤣", "лол😂😂😂", "😀 x", ":) :( :D <3 xD",
        "iPhone за 1000$ и MacBook Pro 16\"", "Pythonпрограммист C++ разработчик", "Москва-Moscow-Москва",
        "https://www.reddit.com/r/funny/comments/abc123/что_это/?utm_source=x&b=1",
        "mail me at test.user+tag@example.com или vk.com/id12345", "[NAME] сказал [RELIGION] вещи",
        "а" * 150, "б" * 99 + "в", "суперкалифрагилистикэкспиалидоциус" * 5, "x" * 1000, "12345678901234567890" * 3,
        "cafe\u0301 naïve résumé Ångström Çà", "\u0301начало с диакритики", "a\u0300\u0301\u0302\u0303\u0304b",
        "我爱你 中文字符 漢字", "日本語のテキスト カタカナ", "한국어 텍스트", "مرحبا بالعالم", "שלום עולם", "ελληνικά ΟΔΟΣ ς",
        "\x00", "a\x00b", "\x01\x02\x03\x7f\x85\x9f", "tab\there", "line\nbreak", "c\u200dd\u200ce", "\ufffd", "a\ufffdb",
        "[CLS] [SEP] [PAD] [MASK] [UNK]", "<s> </s> <pad> <mask> <unk>", "x <mask> y", "x<mask>y", "[cls] [Cls]",
        "don't it's I'll we've they're I'm he'd 'S 'T", "  двойной  пробел   тройной    ", "конец пробел ",
        "ＡＢＣ１２３ ｶﾀｶﾅ", "ﬁ ﬂ ﬀ Ⅻ ½ ² ㎏ ™ №", "İstanbul ǅ ẞ ß ſ", "ÀÉÎÕÜ", "ℌ𝔢𝔩𝔩𝔬 𝐁𝐨𝐥𝐝",
        "...!!!???,,,;;;", "—–-‒ «ёлочки» „лапки“ ‘’ “”", "#хэштег @упоминание $100 50% 3.14 1,000,000",
        "𝟘𝟙𝟚 ① Ⅳ ١٢٣ ߁", "\U0001f9ff\U0001fae0 \U00031350 \U00011f04", "\ue000\U000f0000",
        "ЭТО ВСЁ ЗАГЛАВНЫМИ БУКВАМИ!!!", "кот котик кот, скот кот_ 1кот кот", "мяу  мяу мяу_мяу  мяу", "Ёжик Ёж ёж", "смешанный РЕГИСТР ТеКсТ", "a  b", " a", "a ",
    ]
    # seeded random strings over a pool of tricky characters
    pool = list("аеёийоуыэюяАЕЁИЙОУЫЭЮЯabcXYZ019 .,!?'-\"()[]<>\t\n") + [
        "\u0301", "\u0306", "\u0308", "\u200d", "\u00a0", "\u3000", "😀", "🏽", "\u4e2d", "\u00e9", "\u0130", "\ufb01",
        "\uff21", "\u2581", "\x00", "\x7f", "\ufeff", "  ", "##", "<s>", "[SEP]", "<mask>", "'s", "\U0001f468"]
    rnd = random.Random(1234)
    for _ in range(600):
        h.append("".join(rnd.choice(pool) for _ in range(rnd.randint(1, 40))))
    # seeded random code points anywhere in Unicode (assigned or not, private use, new planes)
    for _ in range(300):
        cps = []
        for _ in range(rnd.randint(1, 12)):
            r = rnd.random()
            c = rnd.randrange(0x80) if r < 0.2 else rnd.randrange(0x10000) if r < 0.7 else rnd.randrange(0x110000)
            if 0xD800 <= c <= 0xDFFF:
                c = 0x20
            cps.append(chr(c))
            if rnd.random() < 0.2:
                cps.append(" ")
        h.append("".join(cps))
    return h


def to_hex_lines(texts):
    return "".join(t.encode("utf-8").hex() + "\n" for t in texts)


def run_cli(cli, args, texts):
    r = subprocess.run([cli] + args, input=to_hex_lines(texts), capture_output=True, text=True)
    if r.returncode != 0:
        print("tok_cli %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr), file=sys.stderr)
        sys.exit(1)
    out = r.stdout.splitlines()
    if len(out) != len(texts):
        print("tok_cli returned %d lines for %d texts" % (len(out), len(texts)), file=sys.stderr)
        sys.exit(1)
    return out


def parse_enc(line):
    if line.startswith("ERR"):
        return None
    parts = line.split("|")
    return tuple([int(x) for x in p.split()] for p in parts)

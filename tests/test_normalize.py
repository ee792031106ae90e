import pytest

from persian_stance.infer.normalize import ZWNJ, Normalizer, NormalizerConfig, normalize

from conftest import ROOT


@pytest.fixture(scope="module")
def norm() -> Normalizer:
    return Normalizer()


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("میتوانند", "می‌توانند"),
        ("می توانند", "می‌توانند"),
        ("نمیخواهند", "نمی‌خواهند"),
        ("همکاریهای", "همکاری‌های"),
        ("همکاری های", "همکاری‌های"),
        ("رئیس جمهور", "رئیس‌جمهور"),
        ("تروریستها", "تروریست‌ها"),
        ("منطقهای", "منطقه‌ای"),
        ("منطقه ای", "منطقه‌ای"),
        ("سریعتر", "سریع‌تر"),
        ("کشور ها", "کشورها"),  # ر does not join: no half-space needed
    ],
)
def test_restores_missing_half_spaces(norm, raw, expected):
    assert norm.normalize(raw) == expected


@pytest.mark.parametrize("word", ["میدان", "میزبان", "میلیون", "انتهای", "کشورهای", "آمریکای", "ماه می سال"])
def test_leaves_real_words_alone(norm, word):
    assert norm.normalize(word) == word


def test_keeps_zwnj(norm):
    text = "همکاری‌های دو کشور می‌تواند گسترش یابد"
    assert norm.normalize(text) == text
    assert norm.normalize(text).count(ZWNJ) == 2


def test_drops_only_stray_zwnj(norm):
    assert norm.normalize(f"{ZWNJ}سلام{ZWNJ} به{ZWNJ}{ZWNJ}همه{ZWNJ}") == f"سلام به{ZWNJ}همه"


def test_folds_arabic_letters(norm):
    assert norm.normalize("آمريكا و كشورهاي عربي") == "آمریکا و کشورهای عربی"
    assert norm.normalize("ىك") == "یک"


def test_removes_bidi_marks_and_stray_whitespace(norm):
    assert norm.normalize("\u200fسلام\u200e  \t دنیا\u00a0!  ") == "سلام دنیا !"
    assert norm.normalize("خط یک  \n\n\n  خط دو") == "خط یک\n\nخط دو"


def test_digit_policies():
    mixed = "سال ۱۳۹۹ و ٢٠٢٠ و 2021 با ۲٫۵ درصد"
    assert Normalizer(NormalizerConfig(digits="latin")).normalize(mixed) == "سال 1399 و 2020 و 2021 با 2.5 درصد"
    assert Normalizer(NormalizerConfig(digits="persian")).normalize(mixed) == "سال ۱۳۹۹ و ۲۰۲۰ و ۲۰۲۱ با ۲٫۵ درصد"
    assert Normalizer(NormalizerConfig(digits="keep")).normalize("٢٠٢٠ 2021") == "۲۰۲۰ 2021"


def test_unknown_digit_policy_is_rejected():
    with pytest.raises(ValueError, match="digit policy"):
        NormalizerConfig.from_dict({"digits": "roman"})


def test_idempotent_on_seed_articles(norm):
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        once = norm.normalize(path.read_text(encoding="utf-8"))
        assert norm.normalize(once) == once, path.name


@pytest.mark.parametrize(
    "text",
    ["رئیس جمهور ها", "میتوانند  همکاریهای\u200c ", "منطقهای\u200f", "ك ي ى ۱٬۲۳۴٫۵", "حجت الاسلام والمسلمین"],
)
def test_idempotent_on_tricky_input(norm, text):
    once = norm.normalize(text)
    assert norm.normalize(once) == once


def test_offsets_point_back_into_the_original(norm):
    raw = "  روحاني   با پوتين تماس گرفت و همکاریهای دو كشور را ستود."
    out = norm.normalize_with_offsets(raw)
    start = out.text.index("پوتین")
    s, e = out.original_span(start, start + len("پوتین"))
    assert raw[s:e] == "پوتين"
    start = out.text.index("همکاری‌های")
    s, e = out.original_span(start, start + len("همکاری‌های"))
    assert raw[s:e] == "همکاریهای"
    assert len(out.offsets) == len(out.text) + 1


def test_agrees_with_hazm_where_hazm_fixes_spacing(norm):
    hazm = pytest.importorskip("hazm")
    reference = hazm.Normalizer(
        persian_numbers=False, persian_style=False, remove_specials_chars=False,
        decrease_repeated_chars=False, unicodes_replacement=False,
    )
    for phrase in ["میتوانند", "نمی دانم چه میگفت", "رئیس جمهور", "کتاب ها", "جمعهها", "زمین لرزه ای",
                   "پنج شنبه", "حجت الاسلام", "بین المللی", "بزرگ ترین", "همکاری های"]:
        assert norm.normalize(phrase) == reference.normalize(phrase), phrase


def test_module_level_helper():
    assert normalize("ايران") == "ایران"

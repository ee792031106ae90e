import json

import pytest

from persian_stance.infer.boilerplate import Boilerplate
from persian_stance.infer.segment import segment_article
from persian_stance.infer.sentences import split_sentences

from conftest import ROOT


def _texts(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def test_seed_articles_split_as_hand_checked():
    """data/seeds.jsonl holds the hand-checked sentence list of every seed article."""
    expected: dict[str, list[str]] = {}
    for line in (ROOT / "data" / "seeds.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        expected.setdefault(rec["id"][5:8], []).append(rec["text"])
    assert len(expected) == 5
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        got = [s.text for s in segment_article(path.read_text(encoding="utf-8"))]
        assert got == expected[path.name[:3]], path.name


def test_seed_sentences_are_slices_of_the_original():
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        raw = path.read_text(encoding="utf-8")
        for s in segment_article(raw):
            assert raw[s.start:s.end] == s.text


# hazm's SentenceTokenizer splits only after [!.?؟] followed by a space; these are
# the places where that goes wrong on scraped news.
def test_glued_sentences_are_split():
    assert _texts("نیروهای مسلح آماده‌اند.برای ورود به جلسه کلیک کنید.") == [
        "نیروهای مسلح آماده‌اند.", "برای ورود به جلسه کلیک کنید."]


def test_glued_sentence_before_opening_quote():
    assert _texts("از توافق خبر داد.«عراقچی» افزود: همکاری ادامه دارد.") == [
        "از توافق خبر داد.", "«عراقچی» افزود: همکاری ادامه دارد."]


def test_headline_without_full_stop_stands_alone():
    text = "تاکید ایران و ترکیه بر همکاری\nوزیران خارجه دو کشور دیدار کردند."
    assert _texts(text) == ["تاکید ایران و ترکیه بر همکاری", "وزیران خارجه دو کشور دیدار کردند."]


def test_decimals_are_not_split():
    assert _texts("نرخ تورم به 2.5 درصد رسید. بانک مرکزی خبر داد.") == [
        "نرخ تورم به 2.5 درصد رسید.", "بانک مرکزی خبر داد."]


@pytest.mark.parametrize("abbr", ["ه.ش.", "ق.م.", "ج.ا.ا.", "U.S."])
def test_abbreviations_are_not_split(abbr):
    text = f"این رویداد در سال ۱۳۵۷ {abbr} رخ داد و همه دیدند."
    assert _texts(text) == [text]


def test_quotation_with_several_sentences_kept_whole():
    text = "وی گفت: «ما آماده‌ایم. گفت‌وگو تنها راه است.» سپس نشست پایان یافت."
    assert _texts(text) == ["وی گفت: «ما آماده‌ایم. گفت‌وگو تنها راه است.»", "سپس نشست پایان یافت."]


def test_colon_before_a_quote_does_not_split():
    text = "روحانی گفت: جنگ راه حل نیست و باید مذاکره کرد."
    assert _texts(text) == [text]


def test_ellipsis_inside_a_list_does_not_split():
    text = "کالاهایی مانند برنج، روغن و ... وارد شد."
    assert _texts(text) == [text]


def test_question_and_exclamation_end_sentences():
    assert _texts("آیا مذاکره ادامه دارد؟ بله! همه منتظرند.") == ["آیا مذاکره ادامه دارد؟", "بله!", "همه منتظرند."]


def test_headline_slash_between_two_statements():
    text = "آمریکا ثبات سوریه را نمی‌خواهد/ نباید اجازه دهیم تنش تازه شعله‌ور شود"
    assert _texts(text) == ["آمریکا ثبات سوریه را نمی‌خواهد", "نباید اجازه دهیم تنش تازه شعله‌ور شود"]


def test_boilerplate_lines_are_dropped():
    article = "\n".join([
        "نخستین جمله خبر اینجاست.",
        "انتهای پیام",
        "کد مطلب: 324871",
        "دیدگاه تان را بنویسید",
        "27 فروردين 1397 ساعت 11:23",
        "1 نفر این پست را پسندیده اند",
        "این مطلب برایم مفید است",
        "جمله پایانی خبر.برای ورود به کانال تلگرام ما کلیک کنید.",
    ])
    assert [s.text for s in segment_article(article)] == ["نخستین جمله خبر اینجاست.", "جمله پایانی خبر."]


def test_boilerplate_patterns_do_not_eat_news():
    bp = Boilerplate.default()
    for line in ["انتهای پیام رئیس‌جمهور به ملت خوانده شد", "کد مطلب جدید دولت برای بورس", "نظرات کارشناسان درباره تحریم‌ها متفاوت است"]:
        assert not bp.is_boilerplate_line(line), line


def test_repeated_lead_is_kept_once():
    article = "رهبران دو کشور دیدار کردند.\nمتن خبر ادامه دارد.\nرهبران دو کشور دیدار کردند."
    assert [s.text for s in segment_article(article)] == ["رهبران دو کشور دیدار کردند.", "متن خبر ادامه دارد."]
    assert len(segment_article(article, dedupe=False)) == 3

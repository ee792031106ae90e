import json

import pytest

from persian_stance.infer.actors import ActorDetector
from persian_stance.infer.labels import ACTORS


@pytest.fixture(scope="module")
def det() -> ActorDetector:
    return ActorDetector.default()


@pytest.mark.parametrize(
    "text, actors",
    [
        ("روحانی در تماس تلفنی با پوتین گفت", ["iran", "russia"]),
        ("رئیسی و ظریف و عراقچی دیدار کردند", ["iran"]),
        ("ترامپ، بایدن و پمپئو", ["usa"]),
        ("لاوروف و اردوغان و چاووش‌اوغلو و فیدان و آکار", ["russia", "turkey"]),
        ("نتانیاهو و اسد و علی‌اف و پاشینیان", ["israel", "syria", "azerbaijan", "armenia"]),
        ("آمریکاییها و روسها و اروپاییها", ["usa", "russia", "europe"]),
        ("رژیم صهیونیستی و داعش", ["israel", "terrorist_groups"]),
        ("سخنگوی کاخ سفید و کرملین", ["usa", "russia"]),
        ("وزیر خارجه کشورمان", ["iran"]),
        ("عربستان سعودی و ناتو", ["europe", "saudi_arabia"]),
        ("وزیر خارجه گفت که رئیس جمهور فردا سفر می‌کند", []),
    ],
)
def test_finds_actors_by_name_people_capital_and_official(det, text, actors):
    assert det.actors(text) == actors


@pytest.mark.parametrize("text", ["علی اف", "علیاف", "علی‌اف"])
def test_robust_to_zwnj_and_space(det, text):
    assert det.actors(f"{text} گفت") == ["azerbaijan"]


def test_robust_to_arabic_letters(det):
    assert det.actors("تحريمهاي آمريكا عليه ايران") == ["iran", "usa"]
    assert det.actors("اسراییل") == ["israel"]


def test_never_inside_other_words(det):
    assert det.actors("روستاهای اطراف و روسری و رؤسای ادارات") == []
    assert det.actors("ایرانشهر و ایران‌خودرو") == []
    assert det.actors("نیروهای ناتوان") == []


def test_iran_azerbaijan_provinces_are_not_the_republic(det):
    assert det.actors("زلزله در آذربایجان شرقی و آذربایجان‌غربی خسارت زد") == []
    assert det.actors("استان‌های آذربایجان میزبان جشنواره شدند") == []
    assert det.actors("جمهوری آذربایجان و ارمنستان آتش‌بس را پذیرفتند") == ["azerbaijan", "armenia"]
    assert det.actors("آذربایجان شرقی با جمهوری آذربایجان مرز دارد") == ["azerbaijan"]


def test_media_names_are_not_mentions(det):
    assert det.actors("به گزارش صدای آمریکا و تایمز اسرائیل") == []


def test_capital_as_place_is_not_a_mention(det):
    assert det.actors("نشست در تهران برگزار شد") == []
    assert det.actors("تهران و مسکو بر همکاری تاکید کردند") == ["iran", "russia"]


def test_west_as_direction_is_not_europe(det):
    assert det.actors("غرب کشور بارانی است و در جنوب غربی سیل آمد") == []
    assert det.actors("آمریکا و غرب تحریم‌ها را تشدید کردند") == ["usa", "europe"]
    assert det.actors("کشورهای غربی و مرزهای غربی") == ["europe"]


def test_spans_point_into_the_original_text(det):
    text = "  سخنان  پوتين و  آمريكاييها  "
    mentions = det.detect(text)
    assert [(m.actor, text[m.start:m.end]) for m in mentions] == [("russia", "پوتين"), ("usa", "آمريكاييها")]
    assert all(m.surface == text[m.start:m.end] for m in mentions)


def test_gazetteer_covers_every_actor(det):
    assert {e[1] for e in det._entries} == set(ACTORS)


def test_precision_and_recall_on_real_news(det, real_dev):
    """Real news nobody here wrote: the detector must find the annotated actors."""
    tp = fp = fn = 0
    for line in real_dev.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        pred, gold = set(det.actors(rec["text"])), set(rec["stances"])
        tp, fp, fn = tp + len(pred & gold), fp + len(pred - gold), fn + len(gold - pred)
    assert tp / (tp + fp) >= 0.95
    assert tp / (tp + fn) >= 0.95

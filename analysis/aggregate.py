"""Labelled sentences → the tables an analyst reads (pandas).

Input is what ``persian-stance label`` writes (one record per sentence, plus
any fields kept with ``--keep-fields``). Every share carries the number of
mentions behind it, and a point with fewer than ``min_count`` mentions is
marked ``suppressed`` rather than drawn: three sentences do not make a trend.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import pandas as pd

from persian_stance.infer.labels import ACTORS, STANCES, TOPICS
from persian_stance.infer.outputs import read_records

from .dates import parse_date

PERIODS = {"month": "M", "week": "W-MON", "year": "Y", "none": None}


@dataclass
class Filters:
    min_score: float = 0.0
    """Keep an actor's stance only when its winning probability reaches this;
    a topic only when its probability does."""
    topics: tuple[str, ...] = ()
    """Only sentences labelled with one of these topics."""
    actors: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None


@dataclass
class Loaded:
    sentences: pd.DataFrame
    mentions: pd.DataFrame
    counts: Counter = field(default_factory=Counter)
    """records read, error records skipped, dates missing or unreadable, filtered out."""
    unreadable_dates: list[str] = field(default_factory=list)


def load(paths: Iterable[str | Path], filters: Filters | None = None, date_field: str = "date",
         source_field: str = "source") -> Loaded:
    """Read label files into a sentence table and an actor-mention table."""
    filters = filters or Filters()
    for t in filters.topics:
        if t not in TOPICS:
            raise ValueError(f"unknown topic {t!r}; one of {', '.join(TOPICS)}")
    for a in filters.actors:
        if a not in ACTORS:
            raise ValueError(f"unknown actor {a!r}; one of {', '.join(ACTORS)}")
    since, until = _bound(filters.since, "--since"), _bound(filters.until, "--until")
    counts: Counter = Counter()
    bad_dates: list[str] = []
    sentences, mentions = [], []
    for path in paths:
        for line, r in read_records(path):
            counts["records"] += 1
            if "error" in r:
                counts["error records"] += 1
                continue
            for key in ("id", "topics", "actors"):
                if key not in r:
                    raise ValueError(f"{path}:{line}: not a sentence record of 'persian-stance label' "
                                     f"(no {key!r} field)")
            day = None
            if date_field in r and r[date_field] not in (None, ""):
                day = parse_date(r[date_field])
                if day is None:
                    counts["unreadable dates"] += 1
                    if len(bad_dates) < 10:
                        bad_dates.append(f"{path}:{line}: {r[date_field]!r}")
            else:
                counts["no date"] += 1
            if (since or until) and (day is None or (since and day < since) or (until and day > until)):
                counts["outside --since/--until"] += 1
                continue
            topics = [t for t in r.get("topic_labels", []) if r["topics"].get(t, 0.0) >= filters.min_score]
            if filters.topics and not set(topics) & set(filters.topics):
                counts["outside --topic"] += 1
                continue
            base = {"id": r["id"], "sentence_index": r.get("sentence_index"), "text": r.get("text", ""),
                    "date": pd.Timestamp(day) if day else pd.NaT, "source": r.get(source_field)}
            sentences.append({**base, **{f"topic_{t}": t in topics for t in TOPICS},
                              **{f"p_{t}": r["topics"].get(t, 0.0) for t in TOPICS}})
            for a in r["actors"]:
                if filters.actors and a["actor"] not in filters.actors:
                    continue
                if a["stance"] is None:  # the mention lay past max_length: nothing was read
                    counts["mentions not read (past max_length)"] += 1
                    continue
                score = a["scores"][a["stance"]]
                if score < filters.min_score:
                    counts["stances below --min-score"] += 1
                    continue
                mentions.append({**base, "actor": a["actor"], "stance": a["stance"], "score": score})
    sent_cols = ["id", "sentence_index", "text", "date", "source"] + [f"topic_{t}" for t in TOPICS] \
        + [f"p_{t}" for t in TOPICS]
    ment_cols = ["id", "sentence_index", "text", "date", "source", "actor", "stance", "score"]
    return Loaded(pd.DataFrame(sentences, columns=sent_cols), pd.DataFrame(mentions, columns=ment_cols), counts,
                  bad_dates)


def _bound(value: str | None, flag: str):
    if value is None:
        return None
    day = parse_date(value)
    if day is None:
        raise ValueError(f"{flag} {value!r} is not a date (use 2020-09-27 or 1399/07/06)")
    return day


def with_period(df: pd.DataFrame, by: str) -> pd.DataFrame:
    """Adds ``period`` (a label such as 2020-10, or "all" without dates or ``by=none``)."""
    if by not in PERIODS:
        raise ValueError(f"unknown period {by!r}; one of {', '.join(PERIODS)}")
    out = df.copy()
    if PERIODS[by] is None or out["date"].isna().all():
        out["period"] = "all"
    else:
        out = out[out["date"].notna()]
        out["period"] = out["date"].dt.to_period(PERIODS[by]).astype(str)
    return out


def stance_shares(mentions: pd.DataFrame, by: str = "month", split_source: bool = False,
                  min_count: int = 20) -> pd.DataFrame:
    """Per period, actor (and source): mention count and the share of each stance."""
    keys = ["period", "actor"] + (["source"] if split_source else [])
    cols = keys + ["n"] + list(STANCES) + ["suppressed"]
    if mentions.empty:
        return pd.DataFrame(columns=cols)
    df = with_period(mentions, by)
    if split_source:
        df = df.assign(source=df["source"].fillna("(no source)"))
    table = pd.crosstab([df[k] for k in keys], df["stance"])
    for s in STANCES:
        if s not in table:
            table[s] = 0
    table = table[list(STANCES)]
    n = table.sum(axis=1)
    shares = table.div(n, axis=0)
    shares.insert(0, "n", n)
    shares["suppressed"] = shares["n"] < min_count
    out = shares.reset_index()
    out.columns.name = None  # crosstab names the column axis "stance"; a table header must not show it
    out["actor"] = pd.Categorical(out["actor"], categories=list(ACTORS), ordered=True)
    return out.sort_values(keys).reset_index(drop=True)[cols]


def topic_shares(sentences: pd.DataFrame, by: str = "month", min_count: int = 20) -> pd.DataFrame:
    """Per period: sentence count and the share of sentences labelled with each topic."""
    cols = ["period", "n"] + list(TOPICS) + ["suppressed"]
    if sentences.empty:
        return pd.DataFrame(columns=cols)
    df = with_period(sentences, by)
    grouped = df.groupby("period")
    out = pd.DataFrame({"n": grouped.size()})
    for t in TOPICS:
        out[t] = grouped[f"topic_{t}"].mean()
    out["suppressed"] = out["n"] < min_count
    return out.reset_index()[cols]


def strongest_examples(mentions: pd.DataFrame, per_cell: int = 3) -> pd.DataFrame:
    """For each actor and stance, the sentences the model is surest of, with their ids."""
    cols = ["actor", "stance", "score", "id", "sentence_index", "source", "date", "text"]
    if mentions.empty:
        return pd.DataFrame(columns=cols)
    df = mentions.sort_values(["score", "id"], ascending=[False, True])
    top = df.groupby(["actor", "stance"], sort=False, observed=True).head(per_cell).copy()
    top["actor"] = pd.Categorical(top["actor"], categories=list(ACTORS), ordered=True)
    top["stance"] = pd.Categorical(top["stance"], categories=list(STANCES), ordered=True)
    return top.sort_values(["actor", "stance", "score"], ascending=[True, True, False])[cols].reset_index(drop=True)

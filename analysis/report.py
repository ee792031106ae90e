"""``persian-stance report``: one offline HTML page from labelled articles.

    persian-stance label news.jsonl --keep-fields date,source --out labels.jsonl
    persian-stance report labels.jsonl --out report.html --by month --csv-dir report-csv

The page shows, per actor, the shares of favor/against/neutral over time (by
outlet when the records carry a source), the topic shares over time, and the
sentences behind each actor and stance, with their article ids, so that every
number can be checked by reading. Figures are drawn with matplotlib and
embedded, so the file opens with no network. The same aggregates go to CSV
with ``--csv-dir``.
"""
from __future__ import annotations

import argparse
import base64
import html
import io
import sys
import time
from pathlib import Path

from persian_stance.infer.labels import STANCES, TOPICS

STANCE_COLOURS = {"favor": "#2b8a3e", "against": "#c92a2a", "neutral": "#868e96"}
MAX_SOURCES = 6


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("labels", nargs="+", type=Path, help="JSON Lines written by 'persian-stance label'")
    p.add_argument("--out", type=Path, required=True, help="HTML file to write")
    p.add_argument("--csv-dir", type=Path, help="also write the aggregates as CSV files here")
    p.add_argument("--by", choices=["month", "week", "year", "none"], default="month",
                   help="time step of the trends (default: month; 'none' or records without dates: one period)")
    p.add_argument("--min-count", type=int, default=20,
                   help="fewest mentions behind a drawn point (default: 20)")
    p.add_argument("--min-score", type=float, default=0.0, help="keep only labels at least this probable")
    p.add_argument("--topic", action="append", default=[], choices=TOPICS, help="only sentences on this topic")
    p.add_argument("--actor", action="append", default=[], help="only this actor (repeatable)")
    p.add_argument("--since", help="first date (ISO or Jalali)")
    p.add_argument("--until", help="last date (ISO or Jalali)")
    p.add_argument("--date-field", default="date", help="record field with the date (default: date)")
    p.add_argument("--source-field", default="source", help="record field with the outlet (default: source)")
    p.add_argument("--examples", type=int, default=3, help="example sentences per actor and stance")
    p.add_argument("--title", default="Topics and stance in labelled news")


def run(args: argparse.Namespace) -> int:
    from .aggregate import Filters, load

    t0 = time.time()
    if args.out.is_dir():
        raise SystemExit(f"--out {args.out} is a folder; give an .html file name")
    if not args.out.parent.exists():
        raise SystemExit(f"--out: folder {args.out.parent} does not exist")
    filters = Filters(args.min_score, tuple(args.topic), tuple(args.actor), args.since, args.until)
    try:
        loaded = load(args.labels, filters, args.date_field, args.source_field)
    except (ValueError, FileNotFoundError) as e:
        raise SystemExit(f"report: {e}") from None
    if loaded.sentences.empty:
        reasons = ", ".join(f"{k}: {v}" for k, v in loaded.counts.items())
        raise SystemExit(f"report: no sentence is left to report on ({reasons or 'the input is empty'})")
    tables = build_tables(loaded, args.by, args.min_count, args.examples)
    page = render_html(loaded, tables, args)
    args.out.write_text(page, encoding="utf-8")
    if args.csv_dir:
        args.csv_dir.mkdir(parents=True, exist_ok=True)
        for name, df in tables.items():
            df.to_csv(args.csv_dir / f"{name}.csv", index=False)
    for line in summary_lines(loaded):
        print(line, file=sys.stderr)
    print(f"report written to {args.out} in {time.time() - t0:.1f} s", file=sys.stderr)
    return 0


def build_tables(loaded, by: str, min_count: int, examples: int) -> dict:
    from .aggregate import stance_shares, strongest_examples, topic_shares

    sources = loaded.mentions["source"].dropna().unique()
    tables = {
        "stance_shares": stance_shares(loaded.mentions, by, False, min_count),
        "topic_shares": topic_shares(loaded.sentences, by, min_count),
        "examples": strongest_examples(loaded.mentions, examples),
    }
    if len(sources) > 1:
        tables["stance_shares_by_source"] = stance_shares(_top_sources(loaded.mentions), by, True, min_count)
    return tables


def _top_sources(mentions):
    """The outlets with most mentions by name; the rest pooled as "other"."""
    counts = mentions["source"].fillna("(no source)").value_counts()
    keep = set(counts.index[:MAX_SOURCES])
    src = mentions["source"].fillna("(no source)")
    return mentions.assign(source=src.where(src.isin(keep), "other"))


def summary_lines(loaded) -> list[str]:
    c = loaded.counts
    lines = [f"{c['records']} records read; {len(loaded.sentences)} sentences and {len(loaded.mentions)} "
             f"actor mentions reported"]
    for key in ("error records", "no date", "unreadable dates", "outside --since/--until", "outside --topic",
                "stances below --min-score"):
        if c[key]:
            lines.append(f"  {key}: {c[key]}")
    lines += [f"  unreadable date: {d}" for d in loaded.unreadable_dates]
    return lines


# -- figures -------------------------------------------------------------------

def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def stance_figure(shares, title: str, row_key: str = "actor"):
    """Trend lines per actor (several periods) or 100% bars (one period)."""
    plt = _plt()
    drawn = shares[~shares["suppressed"]]
    if drawn.empty:
        return None
    periods = sorted(drawn["period"].unique())
    if len(periods) == 1:
        rows = drawn.assign(label=drawn[row_key].astype(str) if row_key == "actor"
                            else drawn["actor"].astype(str) + " · " + drawn["source"].astype(str))
        rows = rows.iloc[::-1]
        fig, ax = plt.subplots(figsize=(9, 0.42 * len(rows) + 1.4))
        left = [0.0] * len(rows)
        for s in STANCES:
            ax.barh(rows["label"], rows[s], left=left, color=STANCE_COLOURS[s], label=s)
            left = [a + b for a, b in zip(left, rows[s])]
        for i, n in enumerate(rows["n"]):
            ax.text(1.01, i, f"n={n}", va="center", fontsize=8)
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of mentions")
        ax.legend(ncol=3, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
        ax.set_title(title, pad=24)
        return fig
    actors = [a for a in drawn["actor"].cat.categories if a in set(drawn["actor"])]
    cols = 3
    rows_n = -(-len(actors) // cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(4.2 * cols, 2.8 * rows_n), squeeze=False, sharey=True)
    by_source = row_key == "source"
    for ax, actor in zip(axes.flat, actors):
        of_actor = shares[shares["actor"] == actor]
        if by_source:
            # one line per outlet: favor share minus against share, so outlets compare on one scale
            for source, part in of_actor.groupby("source"):
                part = part.set_index("period").reindex(periods)
                keep = part["suppressed"] == False  # noqa: E712 - NaN (no mentions) counts as not drawn
                ax.plot(range(len(periods)), (part["favor"] - part["against"]).where(keep), marker="o", ms=3,
                        label=str(source))
            ax.set_ylim(-1, 1)
            ax.axhline(0, color="#adb5bd", lw=0.8)
        else:
            part = of_actor.set_index("period").reindex(periods)
            keep = part["suppressed"] == False  # noqa: E712
            for s in STANCES:
                ax.plot(range(len(periods)), part[s].where(keep), marker="o", ms=3, color=STANCE_COLOURS[s], label=s)
            ax.set_ylim(0, 1)
        ax.set_title(f"{actor} (n={int(of_actor['n'].sum())})", fontsize=10)
        step = max(1, len(periods) // 6)
        ax.set_xticks(range(0, len(periods), step), periods[::step], rotation=45, fontsize=7)
    for ax in list(axes.flat)[len(actors):]:
        ax.axis("off")
    handles = {}
    for ax in axes.flat:  # every outlet once, whichever actor's panel drew it first
        for h, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, h)
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=min(len(handles), 7), fontsize=8,
               frameon=False, bbox_to_anchor=(0.5, -0.02))
    fig.suptitle(title + (" (favor share − against share)" if by_source else ""))
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def topic_figure(shares, title: str):
    plt = _plt()
    drawn = shares[~shares["suppressed"]]
    if drawn.empty:
        return None
    fig, ax = plt.subplots(figsize=(9, 3.2))
    if len(drawn) == 1:
        row = drawn.iloc[0]
        ax.bar(list(TOPICS), [row[t] for t in TOPICS], color="#1c7ed6")
        ax.set_ylabel(f"share of {int(row['n'])} sentences")
    else:
        x = range(len(drawn))
        for t in TOPICS:
            ax.plot(x, drawn[t], marker="o", ms=3, label=t)
        step = max(1, len(drawn) // 12)
        ax.set_xticks(list(x)[::step], list(drawn["period"])[::step], rotation=45, fontsize=8)
        ax.set_ylabel("share of sentences")
        ax.legend(ncol=4, fontsize=8, frameon=False)
    ax.set_title(title)
    return fig


# -- page ----------------------------------------------------------------------

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #212529; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #dee2e6; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
td, th { border: 1px solid #dee2e6; padding: 3px 6px; text-align: left; vertical-align: top; }
td.fa { direction: rtl; text-align: right; font-family: 'Vazirmatn', 'Noto Naskh Arabic', 'DejaVu Sans', sans-serif;
        font-size: 1.05em; line-height: 1.7; max-width: 640px; }
.note { color: #495057; font-size: 0.9em; } img { max-width: 100%; }
.favor { color: #2b8a3e; } .against { color: #c92a2a; } .neutral { color: #868e96; }
"""


def _img(fig, alt: str) -> str:
    if fig is None:
        return "<p class='note'>Every point has fewer mentions than --min-count; nothing to draw.</p>"
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{_png(fig)}'>"


def _table(df, floats: tuple = ()) -> str:
    fmt = {c: (lambda v: f"{v:.2f}") for c in floats if c in df}
    return df.to_html(index=False, formatters=fmt, border=0, na_rep="")


def render_html(loaded, tables: dict, args) -> str:
    esc = html.escape
    filters = [f"--{k.replace('_', '-')} {v}" for k, v in (
        ("by", args.by), ("min_count", args.min_count), ("min_score", args.min_score), ("topic", args.topic),
        ("actor", args.actor), ("since", args.since), ("until", args.until)) if v not in (None, [], 0.0)]
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{esc(args.title)}</title>"
             f"<style>{CSS}</style></head><body>",
             f"<h1>{esc(args.title)}</h1>",
             f"<p class='note'>From {', '.join(esc(str(p)) for p in args.labels)}. Settings: "
             f"{esc(' '.join(filters))}. Points with fewer than {args.min_count} mentions are not drawn "
             f"(they stay in the tables, marked suppressed).</p>",
             "<ul>" + "".join(f"<li>{esc(line.strip())}</li>" for line in summary_lines(loaded)) + "</ul>"]
    parts += ["<h2>Stance toward each actor</h2>",
              _img(stance_figure(tables["stance_shares"], "Share of favor / against / neutral mentions"),
                   "stance shares per actor")]
    if "stance_shares_by_source" in tables:
        parts += ["<h2>Stance by outlet</h2>",
                  _img(stance_figure(tables["stance_shares_by_source"], "Stance by outlet", row_key="source"),
                       "stance shares per actor and outlet")]
    parts += ["<h2>Topics</h2>", _img(topic_figure(tables["topic_shares"], "Share of sentences per topic"),
                                      "topic shares"),
              "<h2>The numbers</h2>", _table(tables["stance_shares"], STANCES),
              _table(tables["topic_shares"], TOPICS)]
    parts += ["<h2>Strongest sentences per actor and stance</h2>",
              "<p class='note'>The sentences the model is surest of; the id and sentence index locate each "
              "one in the labelled file.</p><table><tr><th>actor</th><th>stance</th><th>score</th>"
              "<th>id · sentence</th><th>sentence</th></tr>"]
    for r in tables["examples"].itertuples():
        parts.append(f"<tr><td>{esc(str(r.actor))}</td><td class='{esc(str(r.stance))}'>{esc(str(r.stance))}</td>"
                     f"<td>{r.score:.2f}</td><td>{esc(str(r.id))} · {r.sentence_index}</td>"
                     f"<td class='fa' dir='rtl' lang='fa'>{esc(str(r.text))}</td></tr>")
    parts.append("</table></body></html>")
    return "\n".join(parts)

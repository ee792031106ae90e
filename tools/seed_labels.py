"""Gold labels for the sentences of the five seed articles (ANNOTATION.md v1.1).

Run `python tools/seed_labels.py > data/seeds.jsonl` to rebuild data/seeds.jsonl.
Sentences come from the project's own splitter (duplicates kept once); the
labels below were assigned by hand, sentence by sentence, on the sentence's own
words. Each entry: (topics, stances).
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

F, A, N = "favor", "against", "neutral"
LABELS = {
    "000": [
        (["karabakh"], {}),
        ([], {"iran": N, "turkey": F}),
        (["sanctions", "covid"], {"iran": N, "usa": A}),
        ([], {"terrorist_groups": A}),
        (["covid"], {"iran": N, "turkey": F}),
        (["karabakh"], {"iran": N, "azerbaijan": N, "armenia": N}),
        ([], {"iran": F, "turkey": F, "russia": F}),
        (["syria"], {"iran": F, "turkey": F, "russia": F, "syria": F, "terrorist_groups": A}),
        ([], {"iran": F, "turkey": N}),
        (["sanctions"], {"iran": F, "usa": A, "turkey": N}),
        ([], {"iran": F, "turkey": N, "terrorist_groups": A}),
        (["karabakh"], {"iran": F, "turkey": F}),
    ],
    "001": [
        (["covid"], {"iran": F, "russia": F}),
        ([], {"iran": N, "russia": F}),
        ([], {"iran": N, "russia": F}),
        (["syria"], {"syria": N, "turkey": N, "terrorist_groups": A}),
        (["syria"], {"iran": N, "syria": F, "terrorist_groups": A, "usa": A}),
        (["syria"], {"iran": F, "russia": F, "turkey": F, "syria": F, "terrorist_groups": A}),
        (["covid"], {"iran": F, "russia": N}),
        ([], {"iran": F, "russia": F}),
        (["syria"], {"russia": N, "syria": N, "terrorist_groups": A}),
        (["syria"], {"russia": N, "syria": F, "terrorist_groups": A}),
        (["syria"], {"iran": F, "russia": N}),
    ],
    "002": [
        (["syria"], {"iran": N, "russia": N, "syria": N}),
        ([], {"iran": N, "russia": N}),
        (["syria"], {"usa": A, "europe": A, "syria": N}),
        ([], {}),
        (["syria"], {"iran": N, "russia": N, "usa": A, "europe": A, "syria": F, "terrorist_groups": A}),
        (["syria"], {"usa": A, "terrorist_groups": A}),
        (["syria"], {"iran": N, "usa": A, "syria": N, "terrorist_groups": A}),
        (["syria"], {"usa": A, "europe": A, "syria": N, "iran": N, "russia": F}),
        ([], {"iran": N, "israel": A}),
        ([], {"iran": N}),
        ([], {"iran": F, "russia": F}),
        ([], {"iran": N, "russia": F}),
        (["syria"], {"russia": F, "iran": F, "usa": A, "europe": A, "syria": F}),
        (["syria"], {"russia": N, "usa": A, "syria": N}),
        (["syria"], {"usa": A, "terrorist_groups": A, "syria": N, "iran": F, "russia": F, "turkey": F}),
        ([], {"iran": F, "russia": F}),
        ([], {"iran": F, "russia": F}),
    ],
    "003": [
        ([], {"iran": F, "turkey": F, "terrorist_groups": A}),
        (["syria"], {"iran": N, "syria": N, "usa": A, "israel": A, "terrorist_groups": A}),
        ([], {"iran": N, "turkey": N}),
        (["syria"], {"iran": N, "turkey": N}),
        ([], {"iran": N, "turkey": N}),
        (["syria"], {"iran": F, "turkey": F, "syria": N, "israel": N}),
        ([], {"iran": N, "usa": A, "europe": A, "israel": A}),
        ([], {"israel": A}),
        (["syria"], {"terrorist_groups": A, "syria": N}),
        ([], {}),
        (["syria"], {"iran": N, "israel": A, "turkey": F, "syria": N}),
        ([], {}),
        (["syria"], {"iran": N, "syria": N}),
        (["syria"], {"syria": N, "terrorist_groups": A, "israel": A}),
        (["syria"], {"iran": N, "syria": F}),
        (["syria"], {"syria": N, "iran": N}),
        ([], {"turkey": F}),
        ([], {"saudi_arabia": N}),
        ([], {"iran": F, "turkey": F}),
        ([], {}),
        ([], {"iran": N}),
        (["syria"], {"syria": F}),
        ([], {}),
        ([], {"turkey": N, "terrorist_groups": A}),
        ([], {"turkey": F, "iran": F, "terrorist_groups": A}),
        (["syria"], {"turkey": N, "iran": F, "terrorist_groups": A}),
        ([], {"iran": F}),
        ([], {"turkey": N}),
        ([], {}),
        ([], {"turkey": N}),
        ([], {"israel": A}),
        (["syria"], {"syria": N}),
    ],
    "004": [
        ([], {"terrorist_groups": A}),
        ([], {"iran": N, "turkey": F}),
        ([], {"iran": F, "turkey": F, "terrorist_groups": A}),
        ([], {"iran": F, "turkey": F}),
        ([], {"iran": F, "turkey": F, "terrorist_groups": A}),
        (["syria"], {"iran": N, "syria": F, "terrorist_groups": A}),
        ([], {"iran": F, "turkey": F}),
        (["syria"], {"turkey": N, "iran": F, "syria": F, "terrorist_groups": A}),
        ([], {"iran": F, "turkey": N}),
    ],
}


def main() -> None:
    from persian_stance.infer.labels import ACTORS, TOPICS
    from persian_stance.infer.segment import segment_article

    root = Path(__file__).resolve().parents[1]
    for path in sorted((root / "seeds").glob("*.txt")):
        art = path.name[:3]
        sentences = segment_article(path.read_text(encoding="utf-8"))
        labels = LABELS[art]
        if len(labels) != len(sentences):
            raise SystemExit(f"{path.name}: {len(sentences)} sentences but {len(labels)} labels")
        for s, (topics, stances) in zip(sentences, labels):
            rec = {
                "id": f"seed-{art}-s{s.index:02d}",
                "text": s.text,
                "topics": [t for t in TOPICS if t in topics],
                "stances": {a: stances[a] for a in ACTORS if a in stances},
                "source": "seed",
            }
            print(json.dumps(rec, ensure_ascii=False))


if __name__ == "__main__":
    main()

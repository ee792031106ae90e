"""Metrics computed over a whole dataset at once (never averaged per batch)."""
from __future__ import annotations


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall and F1 from counts; 0.0 where undefined."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def topic_scores(y_true, y_pred) -> dict:
    """Per-topic precision/recall/F1 and macro/micro F1 over the whole set.

    ``y_true``/``y_pred``: (N, len(TOPICS)) arrays of 0/1 in TOPICS order.
    """
    import numpy as np
    from sklearn.metrics import precision_recall_fscore_support

    from persian_stance.infer.labels import TOPICS

    y_true, y_pred = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    p, r, f, support = precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=0)
    micro = precision_recall_fscore_support(y_true, y_pred, average="micro", zero_division=0)[2]
    return {
        "per_topic": {t: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(support[i])}
                      for i, t in enumerate(TOPICS)},
        "macro_f1": float(np.mean(f)),
        "micro_f1": float(micro),
    }


def stance_scores(gold: list[str], pred: list[str], actors: list[str]) -> dict:
    """Stance macro-F1 over (favor, against, neutral), overall and per actor,
    on the given (gold) mentions; ``actors[i]`` is the actor of item i.

    Per actor, the macro average runs over the classes that occur for that
    actor in gold or prediction (an actor never labelled ``favor`` is not
    charged a zero for it); overall, over all three classes.
    """
    import numpy as np
    from sklearn.metrics import confusion_matrix, f1_score

    from persian_stance.infer.labels import ACTORS, STANCES

    out = {
        "n": len(gold),
        "macro_f1": float(f1_score(gold, pred, labels=list(STANCES), average="macro", zero_division=0)) if gold else 0.0,
        "accuracy": float(np.mean([g == p for g, p in zip(gold, pred)])) if gold else 0.0,
        "per_class_f1": dict(zip(STANCES, map(float, f1_score(gold, pred, labels=list(STANCES), average=None,
                                                               zero_division=0)))) if gold else {},
        "confusion": confusion_matrix(gold, pred, labels=list(STANCES)).tolist() if gold else [],
        "per_actor": {},
    }
    for a in ACTORS:
        idx = [i for i, x in enumerate(actors) if x == a]
        if not idx:
            continue
        g, p = [gold[i] for i in idx], [pred[i] for i in idx]
        labels = [s for s in STANCES if s in g or s in p]
        out["per_actor"][a] = {
            "n": len(idx),
            "macro_f1": float(f1_score(g, p, labels=labels, average="macro", zero_division=0)),
            "gold_counts": {s: g.count(s) for s in STANCES},
        }
    return out


def set_scores(gold_sets: list[set], pred_sets: list[set]) -> dict:
    """Micro precision/recall/F1 of per-sentence sets (actors, or (actor, stance) pairs)."""
    tp = sum(len(g & p) for g, p in zip(gold_sets, pred_sets))
    fp = sum(len(p - g) for g, p in zip(gold_sets, pred_sets))
    fn = sum(len(g - p) for g, p in zip(gold_sets, pred_sets))
    p, r, f = prf(tp, fp, fn)
    return {"precision": p, "recall": r, "f1": f, "tp": tp, "fp": fp, "fn": fn}

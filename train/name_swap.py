"""The name-swap stance test.

For each gold mention written as an actor's plain name (``plain`` in
``data/actors.toml``), replace that name with another actor's (one not already
in the sentence) and ask the model for the stance toward the new actor at the
same place. A model that reads the text keeps its stance; one that leans on
the actor's name changes it.
"""
from __future__ import annotations

from persian_stance.infer.prepare import Preparer


def swaps(text: str, stances: dict[str, str], preparer: Preparer) -> list[tuple[str, str, str, str]]:
    """(new_text, old_actor, new_actor, gold_stance) for each swappable mention."""
    plain = preparer.detector.plain_names
    swappable = list(plain)  # in ACTORS order
    out = []
    p = preparer.text(text)
    present = set(p.actors)
    for actor, stance in stances.items():
        own = [m for m in p.mentions if m.actor == actor]
        if actor not in plain or len(own) != 1 or own[0].surface != plain[actor]:
            continue
        m = own[0]
        # deterministic choice: the next swappable actor (in ACTORS order) not in the sentence
        start = swappable.index(actor)
        for k in range(1, len(swappable)):
            new = swappable[(start + k) % len(swappable)]
            if new not in present:
                break
        else:
            continue
        new_text = p.text[:m.start] + plain[new] + p.text[m.end:]
        # the new name must be found as the new actor, and nothing else may change
        if set(preparer.text(new_text).actors) != (present - {actor}) | {new}:
            continue
        out.append((new_text, actor, new, stance))
    return out


def name_swap_test(predictor, records) -> dict:
    """Stance before and after the swap, on gold mentions, with the predictor's
    own preparation of the text."""
    originals, swapped = [], []
    for r in records:
        for new_text, old, new, gold in swaps(r.text, r.stances, predictor.preparer):
            originals.append((r.text, old, gold))
            swapped.append((new_text, new))
    if not swapped:
        return {"n": 0, "follows_text": 0.0, "accuracy_before": 0.0, "accuracy_after": 0.0, "changed_examples": []}
    before = predictor.predict_stances([t for t, _, _ in originals], [[a] for _, a, _ in originals])
    after = predictor.predict_stances([t for t, _ in swapped], [[a] for _, a in swapped])
    pb = [row[a].stance for row, (_, a, _) in zip(before, originals)]
    pa = [row[a].stance for row, (_, a) in zip(after, swapped)]
    gold = [g for _, _, g in originals]
    n = len(gold)
    changed = [
        {"actor_before": o[1], "actor_after": s[1], "gold": g, "before": b, "after": a}
        for o, s, g, b, a in zip(originals, swapped, gold, pb, pa) if b != a
    ]
    return {
        "n": n,
        "follows_text": sum(b == a for b, a in zip(pb, pa)) / n,
        "accuracy_before": sum(b == g for b, g in zip(pb, gold)) / n,
        "accuracy_after": sum(a == g for a, g in zip(pa, gold)) / n,
        "changed_examples": changed[:20],
    }

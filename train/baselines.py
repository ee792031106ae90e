"""Two baselines, trained on the same data as the model and scored the same way.

- ``KeywordRules``: the actor gazetteer for mentions; for topics, keywords
  learned from the training data (words whose presence predicts a topic with
  high precision); for stance, cue words learned near mentions of each class,
  falling back to the actor's most frequent stance.
- ``TfidfLogReg``: TF-IDF (word 1–2-grams and character 2–5-grams of the
  normalised text) with logistic regression, one-vs-rest for topics and
  multinomial for the stance of each mention (sentence features plus a window
  around the mention plus the actor's identity).

Both expose ``fit(records)``, ``predict_topics(texts)`` (0/1 matrix in TOPICS
order), ``predict_stances(texts, actors)`` (one dict per sentence) and
``actors(texts)`` (the mentioned actors). They read text prepared as the model
reads it (:class:`~persian_stance.infer.prepare.Preparer`, normalised text and
mentions), with the normaliser settings of the checkpoint they are compared with.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict

import numpy as np

from persian_stance.infer.labels import ACTORS, STANCES, TOPICS
from persian_stance.infer.prepare import Prepared, Preparer

from .records import Record

_WORD = re.compile(r"[^\W\d_]+(?:\u200c[^\W\d_]+)*")


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


class _Base:
    def __init__(self, preparer: Preparer | None = None):
        self.preparer = preparer or Preparer()

    def _prep(self, texts) -> list[Prepared]:
        return [self.preparer.text(t) for t in texts]

    def actors(self, texts: list[str]) -> list[list[str]]:
        """The actors the gazetteer finds in each text (the baselines' actor detection)."""
        return [p.actors for p in self._prep(texts)]

    @staticmethod
    def _window(p: Prepared, actor: str, width: int = 6) -> str:
        """Words around the actor's mentions (the whole sentence if none is found)."""
        mentions = [m for m in p.mentions if m.actor == actor]
        if not mentions:
            return p.text
        parts = []
        for m in mentions:
            left = _words(p.text[:m.start])[-width:]
            right = _words(p.text[m.end:])[:width]
            parts.append(" ".join(left + ["<M>"] + right))
        return " | ".join(parts)


class KeywordRules(_Base):
    name = "keyword rules"

    def __init__(self, min_precision: float = 0.75, min_support: int = 3, max_keywords: int = 40,
                 preparer: Preparer | None = None):
        super().__init__(preparer)
        self.min_precision, self.min_support, self.max_keywords = min_precision, min_support, max_keywords

    def fit(self, records: list[Record]) -> "KeywordRules":
        prepared = self._prep(r.text for r in records)
        docs = [set(_words(p.text)) for p in prepared]
        df = Counter(w for d in docs for w in d)
        self.topic_keywords: dict[str, list[str]] = {}
        for t in TOPICS:
            pos = Counter(w for d, r in zip(docs, records) if t in r.topics for w in d)
            scored = [(pos[w] / df[w], pos[w], w) for w in pos if pos[w] >= self.min_support
                      and pos[w] / df[w] >= self.min_precision]
            self.topic_keywords[t] = [w for _, _, w in sorted(scored, reverse=True)[: self.max_keywords]]
        # stance cues: words near a mention whose stance they predict well
        near = defaultdict(Counter)
        total = Counter()
        self.prior: dict[str, str] = {}
        by_actor = defaultdict(Counter)
        for r, p in zip(records, prepared):
            for actor, stance in r.stances.items():
                by_actor[actor][stance] += 1
                ws = set(_words(self._window(p, actor))) - {"M"}
                for w in ws:
                    near[w][stance] += 1
                    total[w] += 1
        self.prior = {a: by_actor[a].most_common(1)[0][0] if by_actor[a] else "neutral" for a in ACTORS}
        self.cues: dict[str, str] = {}
        for w, n in total.items():
            if n < self.min_support:
                continue
            stance, k = near[w].most_common(1)[0]
            if stance != "neutral" and k / n >= self.min_precision:
                self.cues[w] = stance
        return self

    def predict_topics(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(TOPICS)), dtype=int)
        for i, p in enumerate(self._prep(texts)):
            ws = set(_words(p.text))
            for j, t in enumerate(TOPICS):
                out[i, j] = int(any(k in ws for k in self.topic_keywords[t]))
        return out

    def predict_stances(self, texts: list[str], actors: list[list[str]]) -> list[dict[str, str]]:
        out = []
        for p, wanted in zip(self._prep(texts), actors):
            row = {}
            for actor in wanted:
                votes = Counter(self.cues[w] for w in _words(self._window(p, actor)) if w in self.cues)
                row[actor] = votes.most_common(1)[0][0] if votes else self.prior.get(actor, "neutral")
            out.append(row)
        return out


class TfidfLogReg(_Base):
    name = "TF-IDF + logistic regression"

    def __init__(self, seed: int = 0, preparer: Preparer | None = None):
        super().__init__(preparer)
        self.seed = seed

    def _vectorizers(self):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import FeatureUnion

        return FeatureUnion([
            ("words", TfidfVectorizer(token_pattern=r"(?u)[^\W\d_]+(?:\u200c[^\W\d_]+)*", ngram_range=(1, 2),
                                      min_df=2, sublinear_tf=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True,
                                      max_features=60000)),
        ])

    def fit(self, records: list[Record]) -> "TfidfLogReg":
        from scipy.sparse import hstack
        from sklearn.linear_model import LogisticRegression

        prepared = self._prep(r.text for r in records)
        self.sent_vec = self._vectorizers().fit([p.text for p in prepared])
        X = self.sent_vec.transform([p.text for p in prepared])
        self.topic_models = []
        for t in TOPICS:
            y = np.array([t in r.topics for r in records], dtype=int)
            m = LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000, random_state=self.seed)
            self.topic_models.append(m.fit(X, y) if 0 < y.sum() < len(y) else None)
        rows, labels = [], []
        for p, r in zip(prepared, records):
            for actor, stance in r.stances.items():
                rows.append((p, actor))
                labels.append(stance)
        self.win_vec = self._vectorizers().fit([self._window(p, a) for p, a in rows])
        Xs = hstack([self.sent_vec.transform([p.text for p, _ in rows]),
                     self.win_vec.transform([self._window(p, a) for p, a in rows]),
                     self._actor_onehot([a for _, a in rows])]).tocsr()
        self.stance_model = LogisticRegression(C=4.0, class_weight="balanced", max_iter=3000,
                                               random_state=self.seed).fit(Xs, labels)
        return self

    @staticmethod
    def _actor_onehot(actors: list[str]):
        from scipy.sparse import csr_matrix

        data = np.ones(len(actors))
        return csr_matrix((data, (np.arange(len(actors)), [ACTORS.index(a) for a in actors])),
                          shape=(len(actors), len(ACTORS)))

    def predict_topics(self, texts: list[str]) -> np.ndarray:
        X = self.sent_vec.transform([p.text for p in self._prep(texts)])
        out = np.zeros((len(texts), len(TOPICS)), dtype=int)
        for j, m in enumerate(self.topic_models):
            if m is not None:
                out[:, j] = m.predict(X)
        return out

    def predict_stances(self, texts: list[str], actors: list[list[str]]) -> list[dict[str, str]]:
        from scipy.sparse import hstack

        rows = [(p, a, i) for i, (p, wanted) in enumerate(zip(self._prep(texts), actors)) for a in wanted]
        out: list[dict[str, str]] = [{} for _ in texts]
        if not rows:
            return out
        Xs = hstack([self.sent_vec.transform([p.text for p, _, _ in rows]),
                     self.win_vec.transform([self._window(p, a) for p, a, _ in rows]),
                     self._actor_onehot([a for _, a, _ in rows])]).tocsr()
        for (_, a, i), s in zip(rows, self.stance_model.predict(Xs)):
            out[i][a] = str(s)
        return out


BASELINES = {"keyword": KeywordRules, "tfidf": TfidfLogReg}

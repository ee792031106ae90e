"""The Python API: load a checkpoint, label sentences and articles.

    >>> from persian_stance.infer import Predictor
    >>> p = Predictor.load()                      # the shipped default model
    >>> [r.topic_labels for r in p.predict(["تحریم‌های آمریکا علیه ایران تشدید شد."])]
    >>> p.predict_article(open("article.txt").read()).summary

Results are plain dataclasses; ``to_dict()`` gives JSON-ready dicts.
"""
from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import torch

from .actors import Mention
from .checkpoint import CheckpointConfig, load_checkpoint
from .encoders import check_max_length
from .errors import SettingError
from .features import ACTOR_INDEX, collate
from .labels import ACTORS, STANCES, TOPICS
from .language import is_persian
from .outputs import NOT_PERSIAN, TRUNCATED, actor_dict, result_dict
from .prepare import Prepared, Preparer
from .segment import Sentence, segment_article

DEFAULT_MODEL = "default"

PRECISIONS = ("auto", "fp32", "fp16", "bf16")
DEFAULT_BATCH_SIZE = {"cpu": 16, "cuda": 128}
"""Sentences per forward pass by device type: on a GPU a pass of 16 short
sentences leaves most of it idle, and 128 sentences of at most 128 tokens
under fp16 take well under 1 GB of activations."""


def autocast_dtype(device: str, precision: str = "auto") -> torch.dtype | None:
    """The dtype the forward pass runs in under ``torch.autocast``, or None for
    plain fp32.

    ``auto`` is fp16 on cuda — the GPU's tensor cores run it several times faster
    than fp32, and the heads' logits are cast back to fp32 before calibration —
    and fp32 everywhere else: the CPU has no fast fp16, and int8 (``quantize``)
    is the CPU's faster path. ``bf16`` on the CPU exists so that the autocast
    branch can be run, and checked against fp32, on a machine without a GPU.
    """
    if precision not in PRECISIONS:
        raise SettingError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    kind = device_type(device)
    if precision == "auto":
        precision = "fp16" if kind == "cuda" else "fp32"
    if precision == "fp32":
        return None
    if precision == "fp16" and kind != "cuda":
        raise SettingError("fp16 autocast needs a GPU (device cuda); on the CPU use bf16 or fp32")
    return torch.float16 if precision == "fp16" else torch.bfloat16


def device_type(device: str) -> str:
    """``"cpu"`` or ``"cuda"`` for a torch device string (``"cuda:1"`` → ``"cuda"``)."""
    try:
        return torch.device(device).type
    except (RuntimeError, TypeError):
        raise SettingError(f"device must be cpu or cuda (cuda:N for one of several GPUs), not {device!r}") from None


def resolve_device(device: str | None, *, quantize: bool = False) -> str:
    """The device to run on: ``device`` checked, or cuda when torch sees a GPU
    (and int8 was not asked for, which runs on the CPU only), else cpu."""
    if device is None:
        return "cuda" if torch.cuda.is_available() and not quantize else "cpu"
    kind = device_type(device)
    if kind not in ("cpu", "cuda"):
        raise SettingError(f"device must be cpu or cuda, not {device!r}")
    if kind == "cuda" and not torch.cuda.is_available():
        build = "this torch build has no CUDA support" if torch.version.cuda is None \
            else "torch.cuda.is_available() is false: no driver, or CUDA_VISIBLE_DEVICES hides the GPU"
        raise SettingError(f"device {device!r}: no CUDA GPU is visible ({build}); use device cpu")
    if quantize and kind != "cpu":
        raise SettingError(f"int8 quantisation runs on the CPU only; with device {device!r} leave it out "
                           "(the GPU runs fp16), or use device cpu")
    return device


class NonFiniteOutput(RuntimeError):
    """The model returned NaN or infinity: there is no probability to report."""


@dataclass
class ActorStance:
    actor: str
    stance: str | None
    """None when the model did not read a mention of the actor (see ``mention_found``)."""
    scores: dict[str, float] | None
    """Probability of each stance class; None with ``stance``."""
    spans: list[tuple[int, int]] = field(default_factory=list)
    """Character spans of the mentions in the sentence's ``text``."""
    surfaces: list[str] = field(default_factory=list)
    mention_found: bool = True
    """False when the caller named an actor the detector did not find in the
    sentence: there is no mention to read, so there is no stance either
    (the stance head would otherwise answer from the sentence alone, a guess)."""
    truncated: bool = False
    """True when every mention lies past ``max_length`` tokens, where the
    sentence was cut: the model did not read one, so there is no stance."""

    @property
    def score(self) -> float | None:
        """Signed stance strength in [-1, 1]: P(favor) − P(against); None without a stance."""
        if self.scores is None:
            return None
        return self.scores["favor"] - self.scores["against"]

    def to_dict(self) -> dict:
        return actor_dict(self)


@dataclass
class SentenceResult:
    text: str
    topics: dict[str, float]
    """Probability of each topic."""
    topic_labels: list[str]
    """Topics whose probability reaches the threshold."""
    actors: list[ActorStance]
    index: int | None = None
    """Position in the article (``predict_article``) or in the input list."""
    start: int | None = None
    end: int | None = None
    """Character span of ``text`` in the article, when it came from one."""
    flags: list[str] = field(default_factory=list)
    """Why the labels may not be a reading of the text (see ``infer/outputs.py``):
    ``not_persian``, ``truncated``."""

    def to_dict(self) -> dict:
        """The output record's fields (``infer/outputs.py`` owns the schema)."""
        return result_dict(self)


@dataclass
class TopicSummary:
    sentences: int
    """Sentences labelled with the topic."""
    strongest_sentence: int
    strongest_probability: float
    strongest_text: str


@dataclass
class ActorSummary:
    favor: int
    against: int
    neutral: int
    mean_score: float
    """Mean over the actor's sentences of P(favor) − P(against), in [-1, 1]."""


@dataclass
class ArticleResult:
    sentences: list[SentenceResult]
    topics: dict[str, TopicSummary]
    actors: dict[str, ActorSummary]

    @property
    def summary(self) -> dict:
        return {"topics": {k: asdict(v) for k, v in self.topics.items()},
                "actors": {k: asdict(v) for k, v in self.actors.items()}}

    def to_dict(self) -> dict:
        return {"sentences": [s.to_dict() for s in self.sentences], "summary": self.summary}


def summarize(sentences: Sequence[SentenceResult]) -> tuple[dict[str, TopicSummary], dict[str, ActorSummary]]:
    """Article summary: each topic present with its strongest sentence, and per
    actor the count of favor/against/neutral sentences and the mean score."""
    topics: dict[str, TopicSummary] = {}
    for t in TOPICS:
        labelled = [s for s in sentences if t in s.topic_labels]
        if not labelled:
            continue
        best = max(labelled, key=lambda s: s.topics[t])
        topics[t] = TopicSummary(len(labelled), best.index if best.index is not None else -1, best.topics[t], best.text)
    actors: dict[str, ActorSummary] = {}
    for a in ACTORS:
        found = [x for s in sentences for x in s.actors if x.actor == a and x.stance is not None]
        if not found:
            continue
        counts = {st: sum(x.stance == st for x in found) for st in STANCES}
        actors[a] = ActorSummary(counts["favor"], counts["against"], counts["neutral"],
                                 float(np.mean([x.score for x in found])))
    return topics, actors


class Predictor:
    """Topic and stance predictions from a trained checkpoint.

    Use :meth:`load`; the constructor takes already loaded parts.
    """

    def __init__(self, model, tokenizer, config: CheckpointConfig, *, device: str = "cpu", batch_size: int = 16,
                 max_length: int | None = None, thresholds: dict[str, float] | None = None,
                 precision: str = "auto"):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise SettingError(f"batch_size must be at least 1, not {batch_size!r}")
        self.autocast_dtype = autocast_dtype(device, precision)
        if max_length is not None:
            check_max_length(max_length, "max_length", config.encoder_config.get("max_position_embeddings"))
        self.model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.config = config
        self.device = device
        self.batch_size = batch_size
        self.preparer = Preparer.for_checkpoint(config, tokenizer, max_length=max_length)
        self.thresholds = dict(config.topic_thresholds)
        if thresholds:
            unknown = set(thresholds) - set(TOPICS)
            if unknown:
                raise ValueError(f"unknown topics in thresholds: {sorted(unknown)}")
            self.thresholds.update({k: float(v) for k, v in thresholds.items()})
        self._pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.backend = "torch"
        """Which engine runs the encoder: ``torch`` or ``onnx`` (set by :meth:`load`)."""

    @classmethod
    def load(cls, path_or_preset: str | Path = DEFAULT_MODEL, *, device: str | None = None,
             batch_size: int | None = None, max_length: int | None = None,
             thresholds: dict[str, float] | None = None, quantize: bool = False, threads: int | None = None,
             precision: str = "auto", backend: str = "torch") -> "Predictor":
        """Load a checkpoint folder, or ``"default"`` for the model shipped with the package.

        ``device`` is cpu or cuda (default: cuda when torch sees a GPU, unless
        ``quantize`` or the onnx backend); ``batch_size`` defaults to
        ``DEFAULT_BATCH_SIZE`` of the device (16 on the CPU, 128 on a GPU).
        ``precision`` chooses the autocast dtype (:func:`autocast_dtype`: fp16 on
        cuda, fp32 on the CPU by default).

        ``backend`` runs the encoder in ``"torch"`` or in ONNX Runtime
        (``"onnx"``, CPU only; exported into the cache on first use, see
        ``infer/onnx_engine.py``); the heads run in torch either way.

        ``quantize`` runs the encoder in int8 (CPU only): torch's dynamic
        quantisation of the linear layers, or ONNX Runtime's of the MatMuls.
        Activation scales are computed per forward pass, so int8 scores move
        slightly with ``batch_size`` (which sentences share a batch); the default
        is the command line's, so both give the same labels.
        """
        from .onnx_engine import check_backend

        check_backend(backend, device)
        device = resolve_device(device, quantize=quantize or backend == "onnx")
        autocast_dtype(device, precision)  # a wrong precision is refused before the model loads
        if quantize and precision not in ("auto", "fp32"):
            raise SettingError(f"int8 quantisation computes in int8 and fp32; precision {precision!r} does not apply")
        if batch_size is None:
            batch_size = DEFAULT_BATCH_SIZE[device_type(device)]
        if threads is not None:
            if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
                raise SettingError(f"threads must be at least 1, not {threads!r}")
            torch.set_num_threads(threads)
        path = resolve_model(path_or_preset)
        model, tokenizer, config = load_checkpoint(path)
        if quantize and backend == "torch":
            model = quantize_dynamic(model)
        predictor = cls(model, tokenizer, config, device=device, batch_size=batch_size, max_length=max_length,
                        thresholds=thresholds, precision=precision)
        if backend == "onnx":
            from .checkpoint import weights_sha256
            from .onnx_engine import use_onnx

            # After the constructor: it moves the model to the device, and use_onnx
            # leaves the torch encoder without weights (on the meta device).
            use_onnx(model, config, config.weights_sha256 or weights_sha256(path),
                     "int8" if quantize else "fp32", threads=threads)
        predictor.backend = backend
        return predictor

    @property
    def max_length(self) -> int:
        return self.preparer.max_length

    # -- sentences ----------------------------------------------------------

    def predict(self, sentences: str | Sequence[str]) -> list[SentenceResult]:
        """One result per sentence, in input order (each string is one sentence)."""
        sentences = _texts(sentences, "predict")
        prepared = [self.preparer.prepare(s) for s in sentences]
        return [self._result(p, tp, sp, index=i) for i, (p, (tp, sp)) in enumerate(zip(prepared, self._forward(prepared)))]

    def predict_proba(self, sentences: str | Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Raw probabilities: topics ``(n, len(TOPICS))`` and stances
        ``(n, len(ACTORS), len(STANCES))``; stance rows of actors not mentioned,
        or mentioned only past ``max_length`` tokens, are NaN."""
        sentences = _texts(sentences, "predict_proba")
        prepared = [self.preparer.prepare(s) for s in sentences]
        outputs = self._forward(prepared)
        topics = np.stack([o[0] for o in outputs]) if outputs else np.zeros((0, len(TOPICS)))
        stances = np.full((len(outputs), len(ACTORS), len(STANCES)), np.nan)
        for i, (p, (_, sp)) in enumerate(zip(prepared, outputs)):
            for a in p.actors:
                if p.features.reads_mention(ACTOR_INDEX[a]):
                    stances[i, ACTOR_INDEX[a]] = sp[ACTOR_INDEX[a]]
        return topics, stances

    def predict_stance(self, sentence: str, actor: str) -> ActorStance:
        """Stance of ``sentence`` toward ``actor``, which the caller names."""
        _text(sentence, "predict_stance")
        return self.predict_stances([sentence], [[actor]])[0][actor]

    def predict_stances(self, sentences: Sequence[str], actors: Sequence[Iterable[str]]) -> list[dict[str, ActorStance]]:
        """Batched :meth:`predict_stance`: for each sentence, the stance toward each
        actor the caller names (evaluation on gold mentions uses this)."""
        sentences = _texts(sentences, "predict_stances")
        if len(sentences) != len(actors):
            raise ValueError("sentences and actors must have the same length")
        actors = [list(wanted) for wanted in actors]
        for wanted in actors:
            for actor in wanted:
                if actor not in ACTOR_INDEX:
                    raise ValueError(f"unknown actor {actor!r}; one of {', '.join(ACTORS)}")
        prepared = [self.preparer.prepare(s) for s in sentences]
        out = []
        for wanted, p, (_, stance_p) in zip(actors, prepared, self._forward(prepared)):
            row = {}
            for actor in wanted:
                own = [m for m in p.mentions if m.actor == actor]
                row[actor] = (self._actor_stance(actor, own, stance_p, p) if own
                              else ActorStance(actor, None, None, mention_found=False))
            out.append(row)
        return out

    # -- articles -----------------------------------------------------------

    def segment(self, text: str, *, split: bool = True, dedupe: bool = True) -> list[Sentence]:
        """An article's sentences, boilerplate removed (``split``), or the whole
        text as one sentence (empty when nothing is left after normalisation)."""
        return segment_text(self.preparer, text, split=split, dedupe=dedupe)

    def predict_article(self, text: str, dedupe: bool = True) -> ArticleResult:
        """Normalise, strip boilerplate, split into sentences, label them, summarise."""
        _text(text, "predict_article")
        return self.predict_segments(self.segment(text, dedupe=dedupe))

    def predict_segments(self, sentences: Sequence[Sentence]) -> ArticleResult:
        return self.predict_segmented([sentences])[0]

    def predict_segmented(self, articles: Sequence[Sequence[Sentence]], *,
                          on_batch: Callable[[int], None] | None = None) -> list[ArticleResult]:
        """Several articles' sentences (from :meth:`segment`) in one batched pass:
        short articles share batches, so little padding is computed.
        ``on_batch(n)`` is called after each forward pass of ``n`` sentences (a
        progress bar; it may raise to stop)."""
        prepared = [self.preparer.prepare_segment(s) for sents in articles for s in sents]
        outputs = iter(zip(prepared, self._forward(prepared, on_batch=on_batch)))
        results = []
        for sents in articles:
            labelled = []
            for s in sents:
                p, (tp, sp) = next(outputs)
                r = self._result(p, tp, sp, index=s.index)
                r.start, r.end = s.start, s.end
                labelled.append(r)
            topics, actors = summarize(labelled)
            results.append(ArticleResult(labelled, topics, actors))
        return results

    # -- internals ----------------------------------------------------------

    @torch.inference_mode()
    def logits(self, prepared: Sequence[Prepared], *,
               on_batch: Callable[[int], None] | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """Raw head outputs per sentence: topic logits ``(len(TOPICS),)`` and stance
        logits ``(len(ACTORS), len(STANCES))``, before any calibration.
        ``on_batch(n)`` is called after each forward pass of ``n`` sentences."""
        enc = [p.features for p in prepared]
        order = sorted(range(len(enc)), key=lambda i: len(enc[i].input_ids))  # little padding
        out: list = [None] * len(enc)
        for b in range(0, len(order), self.batch_size):
            idx = order[b:b + self.batch_size]
            batch = collate([{"input_ids": enc[i].input_ids, "mention_tokens": enc[i].mention_tokens,
                              "targets": [t.to_row() for t in enc[i].targets]}
                             for i in idx], self._pad_id)
            batch = {k: v.to(self.device) for k, v in batch.items()}
            with self._autocast():
                res = self.model(**batch)
            tl = res["topic_logits"].float().cpu().numpy()
            sl = res["stance_logits"].float().cpu().numpy()
            for j, i in enumerate(idx):
                out[i] = (tl[j], sl[j])
            if on_batch is not None:
                on_batch(len(idx))
        return out

    def _autocast(self):
        """Autocast around the forward pass when the precision asks for it
        (fp16 on a GPU by default); the logits leave it as fp32 (``logits``)."""
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type(self.device), dtype=self.autocast_dtype)

    def _forward(self, prepared: Sequence[Prepared], on_batch: Callable[[int], None] | None = None):
        """Calibrated probabilities (topics, stances) per sentence."""
        cal = self.config.calibration
        out = []
        for p, (tl, sl) in zip(prepared, self.logits(prepared, on_batch=on_batch)):
            topic_p, stance_p = cal.topic_probs(tl), cal.stance_probs(sl)
            if not (np.isfinite(topic_p).all() and np.isfinite(stance_p).all()):
                raise NonFiniteOutput(f"the model gave non-finite scores (NaN or infinity) for {p.original[:60]!r}; "
                                      "its weights may be damaged")
            out.append((topic_p, stance_p))
        return out

    def _result(self, p: Prepared, topic_p, stance_p, index=None) -> SentenceResult:
        topics = {t: round(float(topic_p[i]), 4) for i, t in enumerate(TOPICS)}
        labels = [t for t in TOPICS if topics[t] >= self.thresholds[t]]
        by_actor: dict[str, list[Mention]] = {}
        for m in p.mentions:
            by_actor.setdefault(m.actor, []).append(m)
        actors = [self._actor_stance(a, by_actor[a], stance_p, p) for a in p.actors]
        flags = ([] if is_persian(p.original) else [NOT_PERSIAN]) + ([TRUNCATED] if p.features.truncated else [])
        return SentenceResult(p.original, topics, labels, actors, index=index, flags=flags)

    def _actor_stance(self, actor: str, mentions: list[Mention], stance_p, p: Prepared) -> ActorStance:
        spans = [p.original_span(m) for m in mentions]
        surfaces = [p.original[s:e] for s, e in spans]
        if not p.features.reads_mention(ACTOR_INDEX[actor]):
            # Every mention lies past the cut: the stance head would fall back to
            # the sentence vector, which is a guess, not a reading of the mention.
            return ActorStance(actor, None, None, spans, surfaces, truncated=True)
        probs = stance_p[ACTOR_INDEX[actor]]
        scores = {s: round(float(probs[i]), 4) for i, s in enumerate(STANCES)}
        return ActorStance(actor, STANCES[int(np.argmax(probs))], scores, spans, surfaces)


def segment_text(preparer: Preparer, text: str, *, split: bool = True, dedupe: bool = True) -> list[Sentence]:
    """:meth:`Predictor.segment` with only the preparer's normaliser: what the
    label command's parent process uses to cut articles into sentences for its
    workers without loading a model itself."""
    if not split:
        whole = preparer.sentence(text)
        return [whole] if whole is not None else []
    return segment_article(text, preparer.normalizer, dedupe=dedupe)


def _text(text, method: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"Predictor.{method} expects a string; got {_kind(text)}")
    return text


def _texts(texts, method: str) -> list[str]:
    """One string, or a list of them, as a list; anything else is refused here
    rather than failing deep inside normalisation with an unrelated message."""
    if isinstance(texts, str):
        return [texts]
    expected = f"Predictor.{method} expects a string or a list of strings"
    if isinstance(texts, (bytes, bytearray, dict)) or not isinstance(texts, Iterable):
        raise TypeError(f"{expected}; got {_kind(texts)}")
    texts = list(texts)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"{expected}; item {i} is {_kind(t)}")
    return texts


def _kind(value) -> str:
    return "None" if value is None else type(value).__name__


def resolve_model(path_or_preset: str | Path) -> Path:
    """``default`` → the checkpoint shipped inside the package; else a folder."""
    if str(path_or_preset) == DEFAULT_MODEL:
        from importlib.resources import files

        return Path(str(files("persian_stance.checkpoints") / "default"))
    return Path(path_or_preset)


def quantize_dynamic(model: torch.nn.Module, *, per_channel: bool = True,
                     keep_narrowing: bool = True) -> torch.nn.Module:
    """int8 dynamic quantisation (weights int8 with a scale per output channel,
    activations quantised on the fly) of the linear layers that do not narrow
    their input — smaller and faster on CPU. Changes ``model`` in place and
    returns it.

    Layers that narrow their input stay fp32: the feed-forward down-projections,
    whose post-GELU inputs are the most outlier-prone activations of a BERT
    layer (one dynamic scale per batch fits them badly), and the small task
    heads. Chosen on the authored dev split, where quantising every layer per
    tensor cost 1.6 points of topic macro-F1 and 1.1 of stance, and this scheme
    cost 0.2 and gained 0.9 (``benchmarks/int8_schemes.py``, ``docs/RESULTS.md``).

    ``per_channel=False`` (one weight scale per layer) and ``keep_narrowing=False``
    (quantise every linear layer) give the schemes it was compared with.
    """
    import warnings

    # torch marks its eager-mode quantisation API as deprecated in favour of
    # torchao; it still works in the pinned torch 2.13 and needs no extra package.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig
        from torch.ao.quantization import quantize_dynamic as qd

        qconfig = per_channel_dynamic_qconfig if per_channel else default_dynamic_qconfig
        spec = {name: qconfig for name, layer in model.named_modules()
                if isinstance(layer, torch.nn.Linear)
                and not (keep_narrowing and layer.in_features > layer.out_features)}
        # In place: a copy would hold the fp32 and int8 weights at once.
        return qd(model, spec, dtype=torch.qint8, inplace=True)

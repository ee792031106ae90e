"""``persian-stance label --workers N``: label on every core with N processes.

The parent reads the inputs, cuts articles into sentences and forms the same
groups of articles that one process labels together (``label_group``); each
group goes to a worker process, which holds its own model and its share of the
CPU threads, and the parent writes the groups back in input order as they
return. Since each group is labelled by the same code on the same batches
whichever process does it, the output is the one ``--workers 1`` writes.

Why processes with few threads each rather than one process with many: the
forward pass of a batch of short sentences does not keep many threads busy
(small matrices, and the tokenising and post-processing between passes run on
one thread), while N independent processes each keep their core busy.

The workers ignore Ctrl-C (the terminal sends it to the whole process group):
the parent decides what to stop and ends them, so that it alone writes, and
only whole articles.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import time
import traceback
from typing import Callable, Iterable, Iterator, Sequence

from .errors import UserError

GROUP_BATCHES = 16
"""Batches' worth of sentences per group: each group is sorted by length and cut
into batches, so larger groups pad less, while smaller ones spread a modest
input over more workers and reach the first output line sooner."""


def group_size(batch_size: int, batches: int = GROUP_BATCHES) -> int:
    """Sentences per group (``chunk`` below) for the given batch size: the one
    place the label command, the Ray path and the benchmark take it from."""
    return batch_size * batches


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, which containers
    and ``taskset`` narrow), not the machine's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


WORKER_MEMORY = 1.5 * 2 ** 30
"""Memory to leave each worker: the e5-small model, its activations and the
interpreter took about 1.0 GB of resident memory per worker when measured."""


def available_memory() -> int | None:
    """Bytes of memory available for new processes (Linux ``MemAvailable``), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def default_workers(cores: int, device: str, *, memory: int | None = None, one_article: bool = False) -> int:
    """How many worker processes ``--workers`` defaults to: one per core, each
    with one thread, as many as ``memory`` (available bytes) holds.

    Measured on the 2-core machine (``docs/RESULTS.md``, "Labelling on every
    core"): 2 workers × 1 thread labelled 1.7× faster end to end than 1 worker
    × 2 threads. One process with two threads loses most when other jobs share
    the cores — a thread that waits for the CPU holds up its partner at every
    operation — while independent processes do not wait for each other.

    One worker on a GPU (one process feeds it), and for a single article
    (``one_article``): starting more would cost more than it saves.
    """
    if device != "cpu" or one_article:
        return 1
    workers = cores
    if memory is not None:
        workers = min(workers, int(memory // WORKER_MEMORY))
    return max(1, workers)


def threads_per_worker(cores: int, workers: int) -> int:
    """Each worker's share of the cores (total threads = cores), at least one."""
    return max(1, cores // workers)


def label_group(predictor, sentences: Sequence[Sequence], chunk: int,
                on_batch: Callable[[int], None] | None = None) -> list[list]:
    """Label a group of articles (each a list of ``Sentence``s) in slices of
    ``chunk`` sentences: one result list per article, in order.

    In slices so that one huge article is never prepared or labelled in a
    single call that a stop request (``on_batch`` raising) cannot interrupt.
    Raises what ``on_batch`` raises and ``NonFiniteOutput``.
    """
    work = [(k, s) for k, sents in enumerate(sentences) for s in sents]
    labelled: list[list] = [[] for _ in sentences]
    for b in range(0, len(work), chunk):
        part = work[b:b + chunk]
        [result] = predictor.predict_segmented([[s for _, s in part]], on_batch=on_batch)
        for (k, _), r in zip(part, result.sentences):
            labelled[k].append(r)
    return labelled


def group_items(items: Iterable, segment: Callable[..., list], chunk: int, *, split: bool = True,
                dedupe: bool = True, stopped: Callable[[], bool] = lambda: False) -> Iterator[list]:
    """``items`` (``Item``s, in input order) cut into sentences by ``segment``
    and gathered into groups of ``(item, sentences)`` labelled together: a few
    batches' worth of sentences (``chunk``) per group keeps padding low. The
    groups depend on the input and ``chunk`` only, never on the number of
    workers, so every worker count computes the same batches. An item that
    leaves no sentence becomes an error record; ends after the group in
    progress once ``stopped()``."""
    pending: list = []
    buffered = 0
    for item in items:
        sents = []
        if not item.error:
            sents = segment(item.text, split=split, dedupe=dedupe)
            if not sents:
                item.error = "no sentences left after boilerplate removal"
        item.text = None  # segmented: the sentences carry the text, and a worker needs no second copy
        if pending and buffered + len(sents) > chunk:
            # a long article waits for no one, and no one waits for it
            yield pending
            pending, buffered = [], 0
        pending.append((item, sents))
        buffered += len(sents)
        if buffered >= chunk:
            yield pending
            pending, buffered = [], 0
        if stopped():
            break
    if pending:
        yield pending


def group_records(group: list, outcome: tuple) -> Iterator[tuple[object, list[dict]]]:
    """The output records of a labelled group, per item: ``(item, records)``,
    an item's records written together. ``outcome`` is ``("ok", results per
    item)``, ``("nonfinite", message)`` (no item's labels are written: which one
    gave NaN is not known) or ``("stopped", None)`` (only the error records)."""
    from .outputs import error_record, sentence_record

    status, value = outcome
    if status == "nonfinite":
        for item, _ in group:
            item.error = item.error or f"not labelled: {value} (in the batch that held this item)"
    for k, (item, _) in enumerate(group):
        if item.error:
            yield item, [error_record(item)]
        elif status == "ok":
            yield item, [sentence_record(item, r) for r in value[k]]


# Messages a worker sends the parent, on one queue:
#   ("ready", pid)            model loaded
#   ("progress", n)           a forward pass of n sentences is done
#   ("done", seq, outcome)    group seq: ("ok", results) or ("nonfinite", message)
#   ("failed", text, is_user) the model did not load, or a bug: the message or traceback


def _worker_main(load: dict, chunk: int, tasks, results) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()
    try:
        from transformers.utils import logging as hf_logging

        from .predictor import NonFiniteOutput, Predictor

        hf_logging.disable_progress_bar()
        predictor = Predictor.load(**load)
    except Exception as e:  # noqa: BLE001 — reported to the parent, which stops with it
        results.put(("failed", str(e) if isinstance(e, UserError) else traceback.format_exc(),
                     isinstance(e, UserError)))
        return
    results.put(("ready", os.getpid()))
    while True:
        try:
            task = tasks.get(timeout=1.0)
        except queue.Empty:
            if os.getppid() != parent:  # the parent was killed: no one will read what we label
                return
            continue
        if task is None:
            return
        seq, sentences = task
        try:
            outcome = ("ok", label_group(predictor, sentences, chunk, on_batch=lambda n: results.put(("progress", n))))
        except NonFiniteOutput as e:
            outcome = ("nonfinite", str(e))
        except Exception:  # noqa: BLE001
            results.put(("failed", traceback.format_exc(), False))
            return
        results.put(("done", seq, outcome))


class WorkerError(UserError):
    """A worker could not load the model or died; the message says which and why."""


class WorkerPool:
    """``workers`` spawned processes, each with a model loaded by
    ``Predictor.load(**load)``; :meth:`label` hands them groups and yields the
    outcomes in the order the groups were given.

    Spawned, not forked: a forked child would inherit torch's thread pools and
    OpenMP state from a parent that has imported torch, which can deadlock.
    """

    def __init__(self, workers: int, load: dict, chunk: int):
        ctx = mp.get_context("spawn")
        self.tasks = ctx.Queue()
        self.results = ctx.Queue()
        self.procs = [ctx.Process(target=_worker_main, args=(load, chunk, self.tasks, self.results), daemon=True)
                      for _ in range(workers)]
        for p in self.procs:
            p.start()

    def wait_ready(self, should_stop: Callable[[], bool]) -> bool:
        """Wait until every worker has loaded its model; False when stopped first.
        Raises :class:`WorkerError` when one could not load it."""
        ready = 0
        while ready < len(self.procs):
            if should_stop():
                return False
            message = self._next()
            if message is None:
                continue
            if message[0] == "ready":
                ready += 1
            else:
                self._raise(message)
        return True

    def label(self, groups: Iterable[tuple[object, list]], should_stop: Callable[[], bool],
              on_progress: Callable[[int], None]) -> Iterator[tuple[object, tuple]]:
        """Yield ``(tag, outcome)`` for each ``(tag, sentences per article)`` of
        ``groups``, in order. A few groups per worker are in flight at once, so
        that no worker waits while the parent writes; the rest are read from
        ``groups`` only as those return. Ends early, without the groups still in
        flight, once ``should_stop()``."""
        window = 2 * len(self.procs)
        source = iter(groups)
        tags: dict[int, object] = {}
        done: dict[int, tuple] = {}
        sent = written = 0
        exhausted = False
        while True:
            while not exhausted and sent - written < window and not should_stop():
                try:
                    tag, sentences = next(source)
                except StopIteration:
                    exhausted = True
                    break
                tags[sent] = tag
                self.tasks.put((sent, sentences))
                sent += 1
            while written in done:
                outcome = done.pop(written)
                yield tags.pop(written), outcome
                written += 1
            if should_stop() or (exhausted and written == sent):
                return
            message = self._next()
            if message is None:
                continue
            if message[0] == "progress":
                on_progress(message[1])
            elif message[0] == "done":
                done[message[1]] = message[2]
            else:
                self._raise(message)

    def _next(self, timeout: float = 0.2):
        """The next message, or None after ``timeout`` seconds (so that a stop
        request is seen at once); raises when a worker died without a word."""
        try:
            return self.results.get(timeout=timeout)
        except queue.Empty:
            dead = [p for p in self.procs if p.exitcode is not None]
            if dead:
                # One more look: a worker that failed wrote its reason before exiting.
                try:
                    return self.results.get(timeout=0.5)
                except queue.Empty:
                    pass
                p = dead[0]
                why = " (killed, perhaps for lack of memory)" if p.exitcode < 0 else ""
                raise WorkerError(f"labelling worker {p.pid} ended with exit code {p.exitcode}{why}; the items "
                                  "written so far are kept, --resume labels the rest") from None
            return None

    @staticmethod
    def _raise(message: tuple) -> None:
        _, text, is_user = message
        if is_user:
            raise WorkerError(text)
        raise WorkerError(f"a labelling worker failed:\n{text}")

    def close(self, *, now: bool = False) -> None:
        """End the workers: at once (``now``, after a stop request; what they
        were labelling is dropped) or after they finish what they hold."""
        if not now:
            for _ in self.procs:
                self.tasks.put(None)
        deadline = time.monotonic() + (0 if now else 10)
        for p in self.procs:
            p.join(timeout=max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.terminate()
                p.join(timeout=5)
        # The queues' feeder threads would otherwise wait to flush into pipes no one reads.
        for q in (self.tasks, self.results):
            q.cancel_join_thread()
            q.close()

"""End-to-end `index` of the news corpus against the raw encode speed of the model, and peak RSS.

    .venv/bin/python bench/ingest_throughput.py [--backend onnx-int8] [--sample 512] [--copies 1 4]
        [--no-worker] [--compare-worker] [--server] [--add N] [--edit N]

One run, side by side:
1. raw encode throughput of the embedding path in use (`embed_documents` on a sample of the
   corpus chunks, as `index` chunks them), and of torch (today's path) on the same sample;
2. for each --copies N, a fresh child process runs `App.index` on the corpus repeated N times
   (copy k > 1 gets other record ids, another URL host and a "(copy k)" first line, so it is new
   to the store and to duplicate detection) into a new index, with a new embedding cache;
   it reports wall and CPU seconds, chunks embedded, and its peak RSS (VmHWM); with the
   embedding worker process (the default, `embedding_worker`), CPU includes the worker's and
   peak RSS is the sum of both processes' peaks; --compare-worker adds an x1 run with the
   other setting;
With --server each index run writes to a fresh `chroma run` server of its own (the
`chroma_url` setting), and the server's peak RSS is reported apart from the app's: the vectors'
graph and Chroma's caches then live in the server, not in the indexing process.
With --add N a second child then adds N new articles to that index (and server), and its peak
RSS is printed: what a daily run of new articles costs against an index of each size. With
--edit N a child then indexes the same corpus file again with its first N articles edited
(half cut short, half given a new first line): what re-indexing edited articles costs.
3. raw encode again after each index run: this is a shared virtual machine whose speed drifts
   over minutes (raw runs of one session ranged 152-166 chunks/s), so each index run is compared
   with the mean of the raw runs just before and just after it.

The end-to-end rate is chunks embedded / wall seconds of the whole `index` (load, clean,
chunk, deduplicate, embed, write Chroma, rebuild BM25). Copies after the first repeat most
chunk texts, which the content-hash cache serves without embedding: that run measures memory,
not speed. Needs ../shared/corpus; exits with a note when it is missing.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.app import quiet_environment  # noqa: E402

quiet_environment()

from qa.settings import Settings  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "news-articles-2017.csv.gz"
MODELS = ROOT / "bench" / ".cache" / "models"  # exported ONNX files, reused across runs


def renamed(row: dict[str, str], tag: str) -> dict[str, str]:
    """A corpus row made new to the store and to duplicate detection: another record id,
    another URL host, and a first line naming the tag ("copy 2" -> "-copy2", "copy2.")."""
    slug = tag.replace(" ", "")
    link = row.get("article_source_link") or ""
    return row | {
        "article_id": f"{row['article_id']}-{slug}",
        "article_source_link": link.replace("://", f"://{slug}.", 1),
        "text": f"({tag})\n\n{row['text']}" if row.get("text") else row.get("text", ""),
    }


def repeated_corpus(copies: int, folder: Path, *, own: bool = False) -> Path:
    """The corpus written `copies` times into one .csv.gz, streamed row by row (x1 is the
    shared file itself unless `own`: a copy a later run may edit)."""
    if copies == 1 and not own:
        return CORPUS
    out = folder / f"news-x{copies}.csv.gz"
    csv.field_size_limit(1 << 30)
    with gzip.open(out, "wt", encoding="utf-8", newline="") as dst:
        writer: Any = None
        for k in range(1, copies + 1):
            with gzip.open(CORPUS, "rt", encoding="utf-8", newline="") as src:
                for row in csv.DictReader(src):
                    if writer is None:
                        writer = csv.DictWriter(dst, fieldnames=list(row))
                        writer.writeheader()
                    writer.writerow(renamed(row, f"copy {k}") if k > 1 else row)
    return out


def copy_rows(src: Path, dst: Path, change: Callable[[int, dict[str, str]], Any]) -> None:
    """Stream a corpus .csv.gz into another, row i passed through change(i, row) (None: the
    copy stops there)."""
    csv.field_size_limit(1 << 30)
    with (
        gzip.open(src, "rt", encoding="utf-8", newline="") as fin,
        gzip.open(dst, "wt", encoding="utf-8", newline="") as fout,
    ):
        reader = csv.DictReader(fin)
        writer = csv.DictWriter(fout, fieldnames=list(reader.fieldnames or []))
        writer.writeheader()
        for i, row in enumerate(reader):
            if (changed := change(i, row)) is None:
                break
            writer.writerow(changed)


def added_corpus(n: int, folder: Path) -> Path:
    """The corpus's first n articles as new ones (other ids, URL host and first line): what a
    later run adds to an index."""
    out = folder / f"added-{n}.csv.gz"
    copy_rows(CORPUS, out, lambda i, row: renamed(row, "added") if i < n else None)
    return out


def edited(row: dict[str, str], i: int) -> dict[str, str]:
    """Row i edited: an odd one cut to the first half of its text (its first chunks
    rewritten, the rest dropped), an even one given a new first line (every chunk rewritten)."""
    text = row.get("text") or ""
    if not text:
        return row
    half = text[: len(text) // 2]
    return row | {
        "text": (half.rpartition(". ")[0] or half) + "." if i % 2 else f"(edited)\n\n{text}"
    }


def edit_corpus(path: Path, n: int) -> None:
    """Edit the first n articles of a corpus file in place (same path and records, so the
    same article ids: re-indexing it updates them)."""
    tmp = path.with_name(path.name + ".edit")
    copy_rows(path, tmp, lambda i, row: edited(row, i) if i < n else row)
    os.replace(tmp, path)


def peak_rss_mb(pid: int | str = "self") -> float:
    """A process's peak resident memory (VmHWM). Not ru_maxrss: on Linux that starts from
    the parent's peak at fork, so a child started by a big parent reports the parent's."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds(pid: int | None) -> float:
    """CPU seconds (user + system) used so far by a process: the embedding worker's share."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker_of(model: Any) -> int | None:
    """Process id of the model's embedding worker (None: it embeds in this process)."""
    inner = getattr(model, "inner", model)
    pid = getattr(inner, "worker_pid", lambda: None)()
    return int(pid) if pid else None


def child(args: argparse.Namespace) -> None:
    """Index one corpus file into a fresh index; print one JSON line of measurements."""
    from qa.app import App
    from qa.backends import make_embeddings
    from qa.embed_cache import CachedEmbeddings

    work = Path(args.workdir)
    settings = Settings(
        data_dir=work / "index",
        cache_dir=MODELS,
        embedding_backend=args.backend,
        embedding_worker=args.worker,
        llm="extractive",
        chroma_url=args.chroma_url or "",
    )
    app = App(settings)
    inner = make_embeddings(settings, cache=False)
    # Model load/export (and the worker's start) are not part of indexing.
    if args.worker and hasattr(inner, "embed_array"):
        inner.embed_array(["warm up"] * 64)
    else:
        inner.warm()  # type: ignore[attr-defined]
    cache = work / "embeddings.sqlite"
    if args.warm_cache:  # memory runs: vectors of earlier runs are reused, as a re-run would
        shutil.copyfile(args.warm_cache, cache)
    app.__dict__["embeddings"] = CachedEmbeddings(inner, cache)
    rss0 = peak_rss_mb()
    worker = worker_of(inner)
    w, m, c = time.perf_counter(), time.process_time(), cpu_seconds(worker)
    report = app.index([args.corpus])
    wall, main_cpu = time.perf_counter() - w, time.process_time() - m
    worker_cpu = cpu_seconds(worker) - c
    print(
        json.dumps(
            {
                "wall_s": wall,
                "cpu_s": main_cpu + worker_cpu,
                "main_cpu_s": main_cpu,
                "worker_cpu_s": worker_cpu,
                "embedded_chunks": report.embedded_chunks,
                "chunks": report.chunks,
                "articles": report.added + report.updated,
                "rss_before_mb": rss0,
                # With a worker: the sum of both processes' peaks (an upper bound).
                "peak_rss_mb": peak_rss_mb() + (peak_rss_mb(worker) if worker else 0.0),
                "worker_peak_rss_mb": peak_rss_mb(worker) if worker else 0.0,
            }
        )
    )


def sample_chunks(n: int, count_tokens: Any) -> list[str]:
    """n chunk texts spread evenly over the corpus, chunked as `index` chunks them."""
    from ingest.chunking import chunk
    from ingest.loaders import load
    from qa.types import Article

    texts: list[str] = []
    for item in load(str(CORPUS)):
        if isinstance(item, Article):
            texts.extend(c.text for c in chunk(item.id, item.text, count_tokens=count_tokens))
    step = max(1, len(texts) // n)
    return texts[::step][:n]


def raw_rate(model: Any, texts: list[str]) -> tuple[float, float]:
    """(chunks per wall second, chunks per CPU second) of embed_documents on texts, through
    the embedding worker when the path in use has one (its CPU counted too)."""
    model.embed_documents(texts[:64])  # start the worker, if any, outside the timing
    worker = worker_of(model)
    w, c = time.perf_counter(), time.process_time() + cpu_seconds(worker)
    model.embed_documents(texts)
    cpu = time.process_time() + cpu_seconds(worker) - c
    return len(texts) / (time.perf_counter() - w), len(texts) / cpu


def main() -> None:
    """Raw encode, the index runs in child processes, raw encode again; print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default=Settings().embedding_backend)
    ap.add_argument("--sample", type=int, default=512, help="chunks in the raw encode sample")
    ap.add_argument("--copies", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--no-torch", action="store_true", help="skip the torch baseline")
    ap.add_argument("--raw", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--warm-cache", help="embedding cache (sqlite) to start each index run with")
    ap.add_argument(
        "--worker",
        action=argparse.BooleanOptionalAction,
        default=Settings().embedding_worker,
        help="embed in a worker process (the embedding_worker setting)",
    )
    ap.add_argument(
        "--compare-worker",
        action="store_true",
        help="also index x1 with the other embedding_worker setting (side by side)",
    )
    ap.add_argument(
        "--server", action="store_true", help="index into a fresh `chroma run` server per run"
    )
    ap.add_argument(
        "--add",
        type=int,
        default=0,
        metavar="N",
        help="after each --copies run, a second run adds N new articles to its index",
    )
    ap.add_argument(
        "--edit",
        type=int,
        default=0,
        metavar="N",
        help="after each --copies run (and --add), a run over the same corpus file with its "
        "first N articles edited",
    )
    ap.add_argument("--chroma-url", help=argparse.SUPPRESS)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--corpus", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    if not CORPUS.is_file():
        print(f"skipped: {CORPUS} is missing")
        return

    from qa.backends import make_embeddings

    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    settings = Settings(
        embedding_backend=args.backend, cache_dir=MODELS, embedding_worker=args.worker
    )
    path = make_embeddings(settings, cache=False)
    path.warm()  # type: ignore[attr-defined]
    torch = None
    if not args.no_torch and args.raw:
        torch = make_embeddings(Settings(embedding_backend="torch"), cache=False)
        torch.warm()  # type: ignore[attr-defined]
    texts = sample_chunks(args.sample, path.count_tokens) if args.raw else []  # type: ignore[attr-defined]
    raw: dict[str, list[tuple[float, float]]] = {args.backend: [], "torch": []}

    def measure_raw() -> None:
        if not texts:  # --no-raw: memory runs only
            return
        raw[args.backend].append(raw_rate(path, texts))
        if torch is not None:
            raw["torch"].append(raw_rate(torch, texts))

    measure_raw()
    runs: dict[int, dict[str, Any]] = {}
    other: dict[str, Any] = {}
    plan = [(copies, args.worker) for copies in args.copies]
    if args.compare_worker:
        plan.insert(1, (args.copies[0], not args.worker))
    with tempfile.TemporaryDirectory(prefix="aq-ingest-") as tmp:
        for copies, worker in plan:
            work = Path(tmp) / f"x{copies}-{'worker' if worker else 'one-process'}"
            work.mkdir()
            corpus = repeated_corpus(copies, Path(tmp), own=bool(args.edit))
            cmd = [sys.executable, __file__, "--child", "--backend", args.backend]
            cmd += ["--corpus", str(corpus), "--workdir", str(work)]
            cmd += ["--worker" if worker else "--no-worker"]
            if args.warm_cache:
                cmd += ["--warm-cache", args.warm_cache]
            server = None
            if args.server:
                from server_load import start_server  # bench/: the server bench's starter

                server = start_server(work / "chroma")
            if server is not None:
                cmd += ["--chroma-url", server[1]]
            later: list[tuple[str, subprocess.CompletedProcess[str]]] = []
            try:
                done = subprocess.run(cmd, capture_output=True, text=True)
                server_mb = peak_rss_mb(server[0].pid) if server is not None else 0.0
                i = cmd.index("--corpus") + 1
                # The same index (and server): a run of new articles, then a run over the
                # same file with some articles edited. Their memory must not depend on how
                # big the index already is.
                if args.add and worker == args.worker and not done.returncode:
                    more = cmd[:i] + [str(added_corpus(args.add, Path(tmp)))] + cmd[i + 1 :]
                    label = f"adding {args.add} articles to"
                    later.append((label, subprocess.run(more, capture_output=True, text=True)))
                if args.edit and worker == args.worker and not done.returncode:
                    edit_corpus(corpus, args.edit)
                    label = f"editing {args.edit} articles of"
                    later.append((label, subprocess.run(cmd, capture_output=True, text=True)))
            finally:
                if server is not None:
                    server[0].terminate()
                    server[0].wait(timeout=30)
            if done.returncode:
                sys.exit(f"x{copies} index run failed:\n{done.stderr[-3000:]}")
            r = json.loads(done.stdout.strip().splitlines()[-1])
            r["server_peak_rss_mb"] = server_mb
            if worker == args.worker:
                runs[copies] = r
            else:
                other = r
            print(
                f"x{copies} ({'worker' if worker else 'one process'}): "
                f"{r['embedded_chunks']} chunks embedded of {r['chunks']} stored, "
                f"{r['wall_s']:.0f}s wall, {r['cpu_s']:.0f}s CPU, peak RSS "
                f"{r['peak_rss_mb']:.0f} MB"
                + (
                    f" (worker {r['worker_peak_rss_mb']:.0f})"
                    if r.get("worker_peak_rss_mb")
                    else ""
                )
                + (f" (Chroma server: {server_mb:.0f} MB)" if server is not None else ""),
                flush=True,
            )
            for label, run in later:
                if run.returncode:
                    sys.exit(f"{label} x{copies} failed:\n{run.stderr[-3000:]}")
                a = json.loads(run.stdout.strip().splitlines()[-1])
                print(
                    f"{label} the x{copies} index: {a['articles']} articles written, "
                    f"{a['chunks']} chunks stored after, {a['wall_s']:.0f}s wall, peak RSS "
                    f"{a['peak_rss_mb']:.0f} MB (main process "
                    f"{a['peak_rss_mb'] - a['worker_peak_rss_mb']:.0f}, "
                    f"worker {a['worker_peak_rss_mb']:.0f})",
                    flush=True,
                )
            if copies == args.copies[0]:  # the speed runs: each gets its own bracket
                r["raw_before"] = len(raw[args.backend]) - 1
                measure_raw()

    def mean(rates: list[tuple[float, float]], i: int) -> float:
        return statistics.mean(r[i] for r in rates)

    def bracket(run: dict[str, Any]) -> list[tuple[float, float]]:
        """The raw runs just before and just after an index run."""
        k = run.get("raw_before", 0)
        return raw[args.backend][k : k + 2]

    print(
        "\n| corpus | articles | chunks stored | chunks to the model (cache hits too) | wall s "
        "| peak RSS MB |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for copies, r in runs.items():
        print(
            f"| x{copies} | {r['articles']} | {r['chunks']} | {r['embedded_chunks']} "
            f"| {r['wall_s']:.0f} | {r['peak_rss_mb']:.0f} |"
        )
    if not texts:
        return
    raw_wall, raw_cpu = mean(raw[args.backend], 0), mean(raw[args.backend], 1)
    print(f"\nraw encode sample: {len(texts)} chunks; rates are the mean of the bracketing runs")
    walls = ", ".join(f"{w:.1f}" for w, _ in raw[args.backend])
    print(f"raw runs in order (chunks/s): {walls}")
    print("\n| measure | chunks/s (wall) | chunks per CPU-s |")
    print("| --- | ---: | ---: |")
    if raw["torch"]:
        print(f"| raw encode, torch | {mean(raw['torch'], 0):.1f} | {mean(raw['torch'], 1):.1f} |")
    print(f"| raw encode, {args.backend} | {raw_wall:.1f} | {raw_cpu:.1f} |")
    first = runs.get(args.copies[0])
    if first:
        e2e_wall = first["embedded_chunks"] / first["wall_s"]
        e2e_cpu = first["embedded_chunks"] / first["cpu_s"]
        label = "worker process" if args.worker else "one process"
        print(f"| index x{args.copies[0]} end to end ({label}) | {e2e_wall:.1f} | {e2e_cpu:.1f} |")
        if other:
            o_wall = other["embedded_chunks"] / other["wall_s"]
            o_cpu = other["embedded_chunks"] / other["cpu_s"]
            o_label = "one process" if args.worker else "worker process"
            print(
                f"| index x{args.copies[0]} end to end ({o_label}) | {o_wall:.1f} | {o_cpu:.1f} |"
            )
        b = bracket(first)
        print(
            f"\nend to end / raw encode (the raw runs either side): "
            f"{e2e_wall / mean(b, 0):.3f} (wall), {e2e_cpu / mean(b, 1):.3f} (CPU)"
        )
        if first.get("worker_cpu_s"):
            # Both measured in the same run, so the VM's drift cancels out: on 2 busy cores
            # the model's share of the CPU is what the wall ratio tends to.
            n = first["embedded_chunks"]
            main_ms, worker_ms = (1000 * first[k] / n for k in ("main_cpu_s", "worker_cpu_s"))
            share = worker_ms / (main_ms + worker_ms)
            print(
                f"CPU per chunk embedded, same run: main process {main_ms:.2f} ms, "
                f"worker {worker_ms:.2f} ms; the model's share {share:.3f}"
            )
        if other:
            b = bracket(other)
            print(f"{o_label}: {o_wall / mean(b, 0):.3f} (wall), {o_cpu / mean(b, 1):.3f} (CPU)")
    if raw["torch"]:
        print(
            f"{args.backend} raw / torch raw: {raw_wall / mean(raw['torch'], 0):.2f} (wall), "
            f"{raw_cpu / mean(raw['torch'], 1):.2f} (CPU)"
        )


if __name__ == "__main__":
    main()

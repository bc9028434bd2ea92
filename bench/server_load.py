"""The Chroma server path: write cost, search latency under concurrent users, BM25 catch-up.

    .venv/bin/python bench/server_load.py [--chunks 10000] [--users 1 2 4 8] [--searches 50]

Starts a real `chroma run --host 127.0.0.1` on a free port (temporary folder), copies N real
chunks with their vectors into it through articleqa's Store (the source is the index that
bench/answer_latency.py builds and caches; run that first), then:
- write cost: seconds to store the N chunks over HTTP vs into an embedded Chroma;
- concurrent users: U threads, each its own Retriever (own BM25 copy, shared model), each
  running --searches XQuAD questions through the full hybrid search; p50/p95 latency and
  searches per second in total;
- catch-up: after another process writes, the first search of a reader brings its BM25 copy in
  step with the server (lists chunk ids, reads new chunks only); its latency, and the next one's.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.app import quiet_environment  # noqa: E402

quiet_environment()

from qa.settings import Settings  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "answer_latency", Path(__file__).with_name("answer_latency.py")
)
assert _spec and _spec.loader
latency: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(latency)


def start_server(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`chroma run` on a free loopback port; returns the process and its URL once it answers."""
    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [exe, "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2)
            return proc, url
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit("chroma run did not start")


def copy_chunks(app: Any, source: tuple[list[Any], dict[str, list[Any]], Any], n: int) -> float:
    """Write the first n source chunks (and their articles) into app's store; seconds taken."""
    from qa.store import ArticleWrite

    articles, chunks, vectors = source
    t0 = time.perf_counter()
    batch: list[ArticleWrite] = []
    stored = 0
    for a in articles:
        if stored >= n:
            break
        cs = chunks[a.id][: n - stored]
        batch.append(ArticleWrite(a, cs, vectors[a.id][: len(cs)].tolist()))
        stored += len(cs)
        if len(batch) >= 64:
            app.store.write_articles(batch)
            batch = []
    if batch:
        app.store.write_articles(batch)
    app._after_write()
    return time.perf_counter() - t0


def users(url: str, data: Path, embeddings: Any, n_users: int, per_user: int) -> dict[str, float]:
    """n_users threads searching at once, each with its own Retriever; latency and throughput."""
    from qa.app import App

    qs = latency.questions(per_user * n_users, seed=3)
    apps = []
    for u in range(n_users):
        app = App(Settings(data_dir=data / f"user{u}", chroma_url=url, llm="extractive"))
        app.__dict__["embeddings"] = embeddings
        app.retriever.lexical_index()  # each user's BM25 copy, loaded before timing
        apps.append(app)
    times: list[float] = []
    lock = threading.Lock()

    def run(u: int) -> None:
        mine = []
        for q in qs[u * per_user : (u + 1) * per_user]:
            t = time.perf_counter()
            apps[u].retriever.search(q, k=5)
            mine.append(1000 * (time.perf_counter() - t))
        with lock:
            times.extend(mine)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=run, args=(u,)) for u in range(n_users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {
        "p50_ms": latency.pct(times, 50),
        "p95_ms": latency.pct(times, 95),
        "per_s": len(times) / wall,
    }


def main() -> None:
    """Start the server, copy chunks in, measure, stop the server."""
    from qa.app import App
    from qa.backends import make_embeddings

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=10000)
    ap.add_argument("--users", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--searches", type=int, default=50, help="searches per user")
    args = ap.parse_args()
    if not (latency.SOURCE / "done").is_file():
        print("skipped: run bench/answer_latency.py first (it builds the source index)")
        return
    source = latency.read_source(App(latency.settings_for(latency.SOURCE, "extractive")))
    embeddings = make_embeddings(latency.settings_for(latency.SOURCE, "extractive"))
    embeddings.embed_query("warm up")
    with tempfile.TemporaryDirectory(prefix="aq-server-") as tmp:
        folder = Path(tmp)
        embedded = App(Settings(data_dir=folder / "embedded", llm="extractive"))
        embedded.__dict__["embeddings"] = embeddings
        t_embedded = copy_chunks(embedded, source, args.chunks)
        proc, url = start_server(folder / "server")
        try:
            writer = App(Settings(data_dir=folder / "writer", chroma_url=url, llm="extractive"))
            writer.__dict__["embeddings"] = embeddings
            t_server = copy_chunks(writer, source, args.chunks)
            print(f"machine: 2-core CPU; server {url}; {writer.store.count()[1]} chunks")
            print(
                f"\nwrite {args.chunks} chunks: embedded {t_embedded:.1f}s, server {t_server:.1f}s"
            )
            print("\n| users | search p50 ms | p95 ms | searches/s (all users) |")
            print("| ---: | ---: | ---: | ---: |")
            for u in args.users:
                r = users(url, folder, embeddings, u, args.searches)
                print(f"| {u} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['per_s']:.1f} |")
            reader = App(Settings(data_dir=folder / "reader", chroma_url=url, llm="extractive"))
            reader.__dict__["embeddings"] = embeddings
            reader.retriever.search("warm up", k=5)
            writer.store.bump_generation()  # what another process's `index` does
            t = time.perf_counter()
            reader.retriever.search("harbour ferry vote", k=5)
            first = time.perf_counter() - t
            t = time.perf_counter()
            reader.retriever.search("harbour ferry vote", k=5)
            print(
                f"\nafter another process wrote: first search {first:.2f}s (BM25 caught up with "
                f"the server), next {1000 * (time.perf_counter() - t):.0f} ms"
            )
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()

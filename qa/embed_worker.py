"""A worker process that runs the ONNX embedder for big batches (indexing).

Why a process: Chroma's local bindings hold Python's GIL for the whole of every upsert (about
100 ms per 256 chunks; no other Python thread runs meanwhile), and a model thread needs the
GIL to start each run and to hand back its result. While `index` wrote a batch, the model
threads therefore stopped after their current run and the cores sat idle 5-6% of the run.
A worker process has a GIL of its own, so the model keeps both cores busy through the writes
(docs/benchmarks.md).

The worker is `python -m qa.embed_worker FD`, not a multiprocessing child: spawning one of
those re-runs the caller's main script, which a library must never do. Requests and replies
are pickled over a socket pair (multiprocessing's Connection). Several threads may wait on
the worker at once: their requests queue in the socket, so the worker never waits for the
next one. It is started on first use and stopped after `idle_seconds` without work; when it
cannot start or dies, the caller is told (EmbedWorkerError) and embeds in its own process.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

START_SECONDS = 120.0  # an export on first use can take a while; a hung start must not hang us


class EmbedWorkerError(RuntimeError):
    """The worker process could not start or stopped answering."""


class EmbedWorker:
    """One worker process holding its own copy of an embedder (see the module docstring)."""

    def __init__(self, spec: dict[str, Any], *, idle_seconds: float = 60.0) -> None:
        self.spec = spec
        self.idle_seconds = idle_seconds
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._sock: socket.socket | None = None
        self._pending: dict[int, Future[Any]] = {}
        self._ids = itertools.count()
        self._last = time.monotonic()
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()

    def embed(self, texts: list[str], ids: Any = None) -> Any:
        """Unit vectors for texts (one float32 array), computed in the worker; `ids[i]`, when
        not None, are text i's word pieces, which the worker then need not tokenize."""
        return self._call("embed", (list(texts), ids))

    def running(self) -> bool:
        """Whether the worker process is up (it stops when idle)."""
        return self._conn is not None

    def pid(self) -> int:
        """Process id of the worker (starting it if need be)."""
        return int(self._call("pid", None))

    def _call(self, op: str, arg: Any) -> Any:
        with self._lock:
            conn = self._conn if self._conn is not None else self._start()
            rid = next(self._ids)
            fut: Future[Any] = Future()
            self._pending[rid] = fut
        # Sent outside the main lock: a send blocks while the worker is busy, and the reader
        # needs that lock to take the worker's replies (else both would wait for each other).
        with self._send_lock:
            try:
                conn.send((rid, op, arg))
            except OSError as e:
                with self._lock:
                    self._pending.pop(rid, None)
                raise EmbedWorkerError(f"embedding worker gone: {e}") from None
        try:
            return fut.result()
        finally:
            with self._lock:
                self._last = time.monotonic()

    def _start(self) -> Connection:
        """Launch the worker and wait until its model is loaded. Called with the lock held."""
        ours, theirs = socket.socketpair()
        root = str(Path(__file__).resolve().parent.parent)  # so `-m qa...` works uninstalled
        path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "qa.embed_worker", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # never mixed into our own output (--json)
                env={**os.environ, "PYTHONPATH": path},
            )
        except (OSError, ValueError) as e:  # ValueError: no pass_fds (not POSIX)
            ours.close()
            raise EmbedWorkerError(f"cannot start the embedding worker: {e}") from None
        finally:
            theirs.close()
        conn = Connection(os.dup(ours.fileno()))
        ready: Any = None
        try:
            conn.send(self.spec)
            if conn.poll(START_SECONDS):
                ready = conn.recv()
        except (EOFError, OSError):
            pass
        if ready != "ready":
            proc.kill()
            proc.wait()
            conn.close()
            ours.close()
            raise EmbedWorkerError(f"the embedding worker failed to start: {ready or 'no answer'}")
        self._proc, self._conn, self._sock = proc, conn, ours
        threading.Thread(
            target=self._read, args=(conn,), name="articleqa-embed-worker", daemon=True
        ).start()
        threading.Thread(
            target=self._reap, args=(conn,), name="articleqa-embed-reaper", daemon=True
        ).start()
        return conn

    def _read(self, conn: Connection) -> None:
        """Hand each reply to the call waiting for it; on EOF, fail every waiting call."""
        try:
            while True:
                rid, ok, value = conn.recv()
                with self._lock:
                    fut = self._pending.pop(rid, None)
                if fut is None:
                    continue
                if ok:
                    fut.set_result(value)
                else:
                    fut.set_exception(value)
        except Exception:  # EOF, a closed socket, a reply that does not unpickle: all broken
            pass
        with self._lock:
            if self._conn is conn:
                self._conn = None
            waiting, self._pending = self._pending, {}
        for fut in waiting.values():
            fut.set_exception(EmbedWorkerError("the embedding worker stopped"))

    def _reap(self, conn: Connection) -> None:
        """Stop the worker once it has been idle for idle_seconds: it holds a model's memory."""
        while True:
            time.sleep(min(self.idle_seconds, 5.0) / 2)
            with self._lock:
                if self._conn is not conn:
                    return
                if self._pending or time.monotonic() - self._last < self.idle_seconds:
                    continue
            self.close()
            return

    def close(self) -> None:
        """Stop the worker now (a later call starts another)."""
        with self._lock:
            conn, self._conn = self._conn, None
            proc, self._proc = self._proc, None
            sock, self._sock = self._sock, None
        if sock is not None:
            # shutdown, not just close: it also wakes our reader thread, blocked in a read
            # that would otherwise keep the socket open, so the worker reads EOF and exits.
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if conn is not None:
            conn.close()
        if proc is not None:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _serve(conn: Connection) -> None:
    """Worker side: build the embedder from the spec, then answer requests until EOF."""
    from qa.embeddings import OnnxEmbeddings

    spec = conn.recv()
    try:
        embedder = OnnxEmbeddings.from_file(spec.pop("source_path"), spec.pop("onnx_file"), **spec)
        embedder.session  # noqa: B018 - load the model now: the first batch should not wait
    except Exception as e:
        conn.send(f"{type(e).__name__}: {e}")
        return
    conn.send("ready")
    while True:
        try:
            rid, op, arg = conn.recv()
        except (EOFError, OSError):
            return
        try:
            value = embedder._embed_here(*arg) if op == "embed" else os.getpid()
            conn.send((rid, True, value))
        except Exception as e:
            try:
                conn.send((rid, False, e))
            except Exception:  # an exception that does not pickle: send its text
                conn.send((rid, False, RuntimeError(f"{type(e).__name__}: {e}")))


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1])))

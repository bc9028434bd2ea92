"""Run another benchmark with the `openai` backend against a real OpenAI-protocol server on
loopback that serves the packaged local model (tests/openai_server.py): the hosted-model path,
measured offline.

    .venv/bin/python bench/openai_loopback.py answer_quality.py --n 150
    .venv/bin/python bench/openai_loopback.py articleqa --data-dir /tmp/mt eval mtrag FILE --json

The server runs in this process; the benchmark (or the `articleqa` command) talks to it over
HTTP through langchain-openai.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main() -> None:
    """Start the server, point the openai settings at it, run the named benchmark."""
    from qa.app import quiet_environment

    quiet_environment()
    from qa.backends import make_llm
    from qa.settings import Settings
    from tests.openai_server import MODEL_ID, serve_openai

    server, _ = serve_openai(make_llm(Settings(llm="local")))
    os.environ.update(
        ARTICLEQA_OPENAI_BASE_URL=server.base_url,
        ARTICLEQA_OPENAI_MODEL=MODEL_ID,
        ARTICLEQA_OPENAI_API_KEY="loopback",
        ARTICLEQA_LLM="openai",
    )
    script, *rest = sys.argv[1:]
    try:
        if script == "articleqa":
            from qa.cli import main as cli_main

            sys.argv = ["articleqa", *rest]
            try:
                cli_main()
            except SystemExit as e:  # click exits when the command is done
                if e.code:
                    raise
        else:
            sys.argv = [str(HERE / script), "--backend", "openai", *rest]
            sys.path.insert(0, str(HERE))
            runpy.run_path(str(HERE / script), run_name="__main__")
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()

"""make lab serves the chapters as notebooks; tested up to a server that answers and lists them, then stopped."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from conftest import ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_make_lab_serves_every_chapter_and_opens_markdown_as_a_notebook():
    port, token = free_port(), "nninv-test"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("MAKE")}
    options = f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} --IdentityProvider.token={token}"
    server = subprocess.Popen(["make", "--no-print-directory", "-C", str(ROOT), "lab", f"LAB_OPTIONS={options}"],
                              env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        listing, deadline = None, time.monotonic() + 120
        while listing is None and time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token={token}", timeout=5) as reply:
                    listing = json.load(reply)
            except OSError:
                time.sleep(1)
        assert listing is not None, "the JupyterLab server never answered"
        served = sorted(item["name"] for item in listing["content"] if item["name"].endswith(".md"))
        assert served == sorted(path.name for path in (ROOT / "chapters").glob("*.md"))
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/api/contents/{served[0]}?token={token}&type=notebook", timeout=30
        ) as reply:
            notebook = json.load(reply)
        assert notebook["type"] == "notebook" and notebook["content"]["cells"]
        settings = json.loads((ROOT / ".venv/share/jupyter/lab/settings/overrides.json").read_text())
        assert "Jupytext Notebook" in settings["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"].values()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def test_chapters_are_paired_so_that_saving_a_notebook_writes_its_myst_file():
    from jupytext.config import find_jupytext_configuration_file, load_jupytext_configuration_file

    config = load_jupytext_configuration_file(find_jupytext_configuration_file(str(ROOT / "chapters")))
    assert [set(group.split(",")) for group in config.formats] == [{"ipynb", "md:myst"}]

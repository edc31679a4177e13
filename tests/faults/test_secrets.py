"""No secret anywhere: source passwords (in the URI, the TOML file, ``STORAGECDC_SOURCE_PASSWORD``), S3 key
pairs and session tokens (in the sink URI, the TOML file, ``STORAGECDC_SINK_*``) never appear in what
storagecdc prints (``--log-level debug`` too), in its error messages, its metrics, its ``ls`` output, the
resume record or any object it writes. Printed URIs are redacted (``mysql://user:***@host``).

This file runs last in the folder: its final check greps the evidence of every fault and failure run of the
session as well as its own live-source, ``ls``, ``consume`` and ``decode`` runs."""

from __future__ import annotations

import re
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from storagecdc.config import load_config
from storagecdc.devtools.mariadb import MariaDBServer
from storagecdc.devtools.s3servers import REGION, MotoServer, free_port
from storagecdc.errors import StorageCdcError
from storagecdc.runtime.replicate import replicate
from tests.faults.harness import (
    CONSUMABLE,
    DEMO,
    MOTO_ACCESS_KEY,
    MOTO_SECRET_KEY,
    SESSION_TOKEN,
    SOURCE_PASSWORD,
    WRONG_PASSWORD,
    Evidence,
    cli,
    command,
    command_env,
    error_line,
    moto_uri,
    objects,
)
from tests.plugins.s3_servers import TEST_BUCKET, fresh_prefix

pytestmark = [pytest.mark.mariadb, pytest.mark.s3]

USER = "cdc_canary"
SINK_ENV = {"STORAGECDC_SINK_ACCESS_KEY": MOTO_ACCESS_KEY, "STORAGECDC_SINK_SECRET_ACCESS_KEY": MOTO_SECRET_KEY,
            "STORAGECDC_SINK_SESSION_TOKEN": SESSION_TOKEN}
_PRINTED_MYSQL_URI = re.compile(r"mysql://([^/@\s'\"]*)@")


def scrape_while_running(port: int, proc: subprocess.Popen[str], evidence: Evidence) -> threading.Thread:
    """Read the metrics page every 50 ms for as long as ``proc`` runs."""

    def scrape() -> None:
        while proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as page:
                    evidence.add("metrics", page.read().decode())
            except OSError:
                pass
            time.sleep(0.05)

    thread = threading.Thread(target=scrape, daemon=True)
    thread.start()
    return thread


def run_collecting(args: list[str], env: dict[str, str], metrics_port: int,
                   evidence: Evidence) -> subprocess.CompletedProcess[str]:
    """``storagecdc ARGS`` with a metrics scraper beside it."""
    proc = subprocess.Popen(command(*args), env=command_env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)
    scraper = scrape_while_running(metrics_port, proc, evidence)
    stdout, stderr = proc.communicate(timeout=120)
    scraper.join()
    return subprocess.CompletedProcess(args, proc.returncode, stdout, stderr)


def test_no_secret_reaches_any_output(mariadb: MariaDBServer, moto_server: MotoServer, tmp_path: Path,
                                      request: pytest.FixtureRequest, evidence: Evidence) -> None:
    mariadb.create_user(USER, SOURCE_PASSWORD)
    binlog_file, position = mariadb.execute("SHOW MASTER STATUS")[0][:2]
    mariadb.execute_script("CREATE DATABASE IF NOT EXISTS canary; DROP TABLE IF EXISTS canary.t;"
                           "CREATE TABLE canary.t (id INT PRIMARY KEY, v VARCHAR(20));"
                           "INSERT INTO canary.t VALUES (1, 'one'), (2, 'two');")
    start = ["--start", f"{binlog_file}:{position}", "--until", "now", "--filter", "canary.*"]  # progress output on
    prefix = fresh_prefix(request.node.name)
    bare_sink = f"s3://{TEST_BUCKET}/{prefix}?endpoint={moto_server.endpoint}&region={REGION}" \
                f"&force-path-style=true&{CONSUMABLE}"
    keyed_sink = moto_uri(moto_server, TEST_BUCKET, prefix, protocol="csv", **{"include-commit-ts": "true"})
    outputs: dict[str, subprocess.CompletedProcess[str]] = {}

    # A wrong password, in the URI and from the environment, at the default and the debug log level.
    outputs["wrong password in URI"] = cli("run", "--source", mariadb.uri(USER, WRONG_PASSWORD),
                                           "--sink-uri", bare_sink, *start, env=SINK_ENV)
    outputs["wrong password from env, debug"] = cli(
        "--log-level", "debug", "run", "--source", f"mysql://{USER}@{mariadb.host}:{mariadb.port}/",
        "--sink-uri", bare_sink, *start, env={**SINK_ENV, "STORAGECDC_SOURCE_PASSWORD": WRONG_PASSWORD})
    for name in ("wrong password in URI", "wrong password from env, debug"):
        assert outputs[name].returncode == 1, outputs[name].stderr[-2000:]
    assert "Access denied" in error_line(outputs["wrong password in URI"])
    with pytest.raises(StorageCdcError) as raised:
        replicate(load_config(None, source=mariadb.uri(USER, WRONG_PASSWORD), sink_uri=keyed_sink,
                              start=f"{binlog_file}:{position}"), until="now")
    evidence.add("exception", f"{raised.value}\n{raised.value!r}\n{raised.value.__cause__!r}")

    # The right password and the S3 keys in a TOML file, debug logs and metrics on.
    config = tmp_path / "changefeed.toml"
    config.write_text(f'[source]\nuri = "{mariadb.uri(USER, SOURCE_PASSWORD)}"\n'
                      f'[sink]\nuri = "{bare_sink}"\naccess-key = "{MOTO_ACCESS_KEY}"\n'
                      f'secret-access-key = "{MOTO_SECRET_KEY}"\nsession-token = "{SESSION_TOKEN}"\n')
    port = free_port()
    outputs["right password, TOML, debug, metrics"] = run_collecting(
        ["--log-level", "debug", "run", "--config", str(config), *start, "--metrics-port", str(port)], {}, port,
        evidence)
    good = outputs["right password, TOML, debug, metrics"]
    assert good.returncode == 0, good.stderr[-3000:]
    assert f"mysql://{USER}:***@" in good.stderr
    assert any(label == "metrics" for label, _ in evidence.texts), "the metrics page was never read"

    # Reading the output back with the keys in the URI.
    outputs["ls"] = cli("--log-level", "debug", "ls", keyed_sink)
    outputs["ls --json"] = cli("ls", "--json", keyed_sink)
    outputs["consume"] = cli("--log-level", "debug", "consume", "--sink-uri", keyed_sink,
                             "--target", f"sqlite:///{tmp_path / 'replayed.db'}")
    outputs["consume into MariaDB, wrong password"] = cli(
        "consume", "--sink-uri", keyed_sink, "--target", mariadb.uri(USER, WRONG_PASSWORD))
    outputs["decode"] = cli("--log-level", "debug", "decode", "--quiet", str(DEMO),
                            env={**SINK_ENV, "STORAGECDC_SOURCE_PASSWORD": SOURCE_PASSWORD})
    for name in ("ls", "ls --json", "consume", "decode"):
        assert outputs[name].returncode == 0, (name, outputs[name].stderr[-2000:])
    assert outputs["consume into MariaDB, wrong password"].returncode != 0
    written = objects(keyed_sink)
    assert "_storagecdc/resume.json" in written and any(key.endswith(".csv") for key in written)

    for name, result in outputs.items():
        evidence.add_result(name, result)
    evidence.add_objects(request.node.name, written)
    printed = [m.group(1) for _, text in evidence.texts for m in _PRINTED_MYSQL_URI.finditer(text)]
    assert printed and all(":" not in userinfo or userinfo.endswith(":***") for userinfo in printed), printed
    assert evidence.leaks() == []

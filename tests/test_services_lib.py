"""scripts/services.d/_lib.sh: the one Go-tool install helper and daemon helpers that jaeger.sh and
toxiproxy.sh use (they had their own copies of each), run for real in bash with a stand-in `go`."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.pytest_plugin import ROOT

LIB = ROOT / "scripts" / "services.d" / "_lib.sh"

# A stand-in toolchain: logs each call (GOFLAGS, args) and "installs" a script named after the package.
FAKE_GO = """#!/usr/bin/env bash
printf '%s|%s\\n' "$GOFLAGS" "$*" >>"$GO_CALLS"
pkg="${2%@*}"
printf '#!/bin/sh\\necho built\\n' >"$GOBIN/${pkg##*/}"
chmod +x "$GOBIN/${pkg##*/}"
"""


def bash(script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "NEXUSCART_LOCAL": str(tmp_path / "local"), "GO": str(tmp_path / "go"),
           "GO_CALLS": str(tmp_path / "calls")}  # fmt: skip
    return subprocess.run(
        ["bash", "-c", f'. "{LIB}"\n{script}'], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def calls(tmp_path: Path) -> list[str]:
    path = tmp_path / "calls"
    return path.read_text().splitlines() if path.exists() else []


def test_a_go_tool_is_built_once_per_version(tmp_path):
    (tmp_path / "go").write_text(FAKE_GO)
    (tmp_path / "go").chmod(0o755)
    bin_ = tmp_path / "tools" / "toxiproxy-server"
    install = f'go_tool_install toxiproxy "{bin_}" %s "{tmp_path}" example.com/toxiproxy/cmd/server@%s'

    first = bash(install % ("v1", "v1"), tmp_path)
    again = bash(install % ("v1", "v1"), tmp_path)
    newer = bash(install % ("v2", "v2"), tmp_path)

    assert (first.returncode, again.returncode, newer.returncode) == (0, 0, 0), first.stderr + newer.stderr
    # No go.mod in the folder: plain `go install pkg@version`; the same version is not rebuilt.
    assert calls(tmp_path) == [
        "|install example.com/toxiproxy/cmd/server@v1",
        "|install example.com/toxiproxy/cmd/server@v2",
    ]
    assert subprocess.run([bin_], capture_output=True, text=True, check=True).stdout == "built\n"
    assert (tmp_path / "tools" / "toxiproxy-server.version").read_text() == "v2\n"
    assert sorted(p.name for p in bin_.parent.iterdir()) == ["toxiproxy-server", "toxiproxy-server.version"]


def test_a_tool_pinned_by_our_module_reads_its_go_sum(tmp_path):
    (tmp_path / "go").write_text(FAKE_GO)
    (tmp_path / "go").chmod(0o755)
    module = tmp_path / "module"
    module.mkdir()
    (module / "go.mod").write_text("module example.com/pin\n")
    bin_ = tmp_path / "bin" / "jaeger"

    done = bash(f'go_tool_install jaeger "{bin_}" v9 "{module}" example.com/jaeger/cmd/jaeger', tmp_path)

    assert done.returncode == 0, done.stderr
    assert calls(tmp_path) == ["-mod=mod|install example.com/jaeger/cmd/jaeger"]
    assert bin_.exists()


def test_a_failed_build_dies_and_leaves_no_binary(tmp_path):
    (tmp_path / "go").write_text("#!/bin/sh\necho 'cannot build' >&2\nexit 1\n")
    (tmp_path / "go").chmod(0o755)
    bin_ = tmp_path / "bin" / "tool"

    failed = bash(f'go_tool_install tool "{bin_}" v1 "{tmp_path}" example.com/tool@v1; echo survived', tmp_path)

    assert failed.returncode == 1
    assert "go install example.com/tool@v1 failed" in failed.stderr
    assert "survived" not in failed.stdout
    assert not bin_.parent.exists() or list(bin_.parent.iterdir()) == []
    assert "cannot build" in (tmp_path / "local" / "log" / "tool.log").read_text()


def test_daemon_spawn_status_and_stop(tmp_path):
    run = bash(
        """
        daemon_spawn napper sleep "$LOG_DIR/napper.log" 5 true sleep 30
        daemon_status napper sleep 127.0.0.1:1 "$LOG_DIR/napper.log" true; echo "rc=$?"
        daemon_status napper sleep 127.0.0.1:1 "$LOG_DIR/napper.log" false; echo "rc=$?"
        daemon_stop napper sleep 5
        daemon_status napper sleep 127.0.0.1:1 "$LOG_DIR/napper.log" true; echo "rc=$?"
        """,
        tmp_path,
    )
    assert run.returncode == 0, run.stderr
    states = [(line.split()[1], rc) for line, rc in zip(*[iter(run.stdout.splitlines())] * 2, strict=True)]
    assert states == [("running", "rc=0"), ("starting", "rc=3"), ("stopped", "rc=3")]
    assert "stopping napper (pid" in run.stderr
    assert not (tmp_path / "local" / "run" / "napper.pid").exists()


def test_a_pid_file_naming_another_program_is_not_ours(tmp_path):
    run = bash('echo $$ >"$RUN_DIR/jaeger.pid"; daemon_pid jaeger jaeger; echo "rc=$?"', tmp_path)
    assert run.stdout.strip() == "rc=1"


def test_jaeger_and_toxiproxy_use_the_shared_helpers():
    for name in ("jaeger.sh", "toxiproxy.sh"):
        text = (ROOT / "scripts" / "services.d" / name).read_text()
        assert "go_tool_install " in text, name
        assert "daemon_spawn " in text, name
        assert '"$go" install' not in text, name
        assert '"$go" build' not in text, name
        assert "setsid" not in text, name

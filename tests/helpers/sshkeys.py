"""Real SSH keys made with ssh-keygen for signature tests: alice and bob (unencrypted), carol
(encrypted, passphrase in `carol_passphrase`), allowed_signers files naming them, an askpass
script that answers carol's passphrase, and an ssh-agent started and stopped by the test."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CAROL_PASSPHRASE = "correct horse battery staple"


@dataclass(frozen=True)
class Keys:
    dir: Path

    def key(self, who: str) -> Path:
        return self.dir / who

    def pub(self, who: str) -> Path:
        return self.dir / f"{who}.pub"

    def allowed(self, *who: str) -> Path:
        """An allowed_signers file naming `who` as `<who>@example.com`."""
        path = self.dir / f"allowed-{'-'.join(who)}"
        if not path.exists():
            path.write_text(self.lines(*who))
        return path

    def lines(self, *who: str) -> str:
        out = []
        for name in who:
            keytype, key = self.pub(name).read_text().split()[:2]
            out.append(f"{name}@example.com {keytype} {key}\n")
        return "".join(out)

    @property
    def askpass(self) -> Path:
        return self.dir / "askpass"

    def askpass_env(self) -> dict[str, str]:
        """Variables that make ssh-keygen ask for carol's passphrase through `askpass`."""
        return {"SSH_ASKPASS": str(self.askpass), "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"}


def make_keys(directory: Path) -> Keys:
    directory.mkdir(parents=True, exist_ok=True)
    for who, passphrase in (("alice", ""), ("bob", ""), ("carol", CAROL_PASSPHRASE)):
        subprocess.run(
            [
                "ssh-keygen",
                "-q",
                "-t",
                "ed25519",
                "-N",
                passphrase,
                "-C",
                who,
                "-f",
                directory / who,
            ],
            check=True,
        )
    askpass = directory / "askpass"
    askpass.write_text(f"#!/bin/sh\necho '{CAROL_PASSPHRASE}'\n")
    askpass.chmod(0o755)
    return Keys(directory)


def ssh_sign(key: Path, data: Path, namespace: str = "pack") -> bytes:
    """A signature made by plain `ssh-keygen -Y sign` (data on stdin, signature on stdout)."""
    with open(data, "rb") as stdin:
        return subprocess.run(
            ["ssh-keygen", "-Y", "sign", "-f", key, "-n", namespace],
            stdin=stdin,
            capture_output=True,
            check=True,
        ).stdout


@contextlib.contextmanager
def ssh_agent(directory: Path) -> Iterator[dict[str, str]]:
    """An ssh-agent of this test (its socket in `directory`); yields SSH_AUTH_SOCK."""
    sock = directory / "agent.sock"
    out = subprocess.run(
        ["ssh-agent", "-s", "-a", sock], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"SSH_AGENT_PID=(\d+)", out)
    assert match, out
    pid = int(match.group(1))
    try:
        yield {"SSH_AUTH_SOCK": str(sock)}
    finally:
        os.kill(pid, signal.SIGTERM)

"""The configuration snapshot: one digest per content in every process, a body that reads
back as it was, and a catalog that says what it misses."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading

import pytest
from temporalio.exceptions import FailureError

from nurture.domain.config import ConfigCatalog, ConfigNotLoaded, ConfigSnapshot, canonical_json
from nurture.errors import NurtureError
from tests.helpers import ROOT, config_snapshot

PRINT_DIGEST = "from tests.helpers import config_snapshot; print(config_snapshot().ref().digest)"


def with_domains(snapshot: ConfigSnapshot, domains: list[str]) -> ConfigSnapshot:
    scoring = snapshot.scoring.model_copy(update={"free_mail_domains": frozenset(domains)})
    return snapshot.model_copy(update={"scoring": scoring})


class TestDigest:
    """The digest names the content alone, whatever process or set order made it."""

    def test_same_in_processes_with_other_hash_seeds(self) -> None:
        """Sets iterate in another order under each PYTHONHASHSEED; the digest does not
        change."""
        digests = set()
        for seed in ("1", "2", "3"):
            env = {**os.environ, "PYTHONHASHSEED": seed}
            done = subprocess.run(
                [sys.executable, "-c", PRINT_DIGEST],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            digests.add(done.stdout.strip())
        assert digests == {config_snapshot().ref().digest}

    def test_sets_sorted(self) -> None:
        """A set is written sorted, so its order of construction does not count."""
        domains = ["yahoo.com", "gmail.com", "aol.com", "hotmail.com", "gmx.de"]
        one = with_domains(config_snapshot(), domains)
        other = with_domains(config_snapshot(), domains[::-1])
        assert one.ref() == other.ref()
        written = json.loads(one.canonical_json())["scoring"]["free_mail_domains"]
        assert written == sorted(domains)

    def test_content_changes_the_digest(self) -> None:
        snapshot = config_snapshot()
        other = with_domains(snapshot, ["example.org"])
        assert re.fullmatch(r"cfg-[0-9a-f]{32}", snapshot.ref().digest)
        assert other.ref() != snapshot.ref()

    def test_compact_and_sorted(self) -> None:
        text = config_snapshot().canonical_json()
        assert ", " not in text and ": " not in text
        assert list(json.loads(text)) == ["enrolment", "sales", "scoring", "sending"]
        assert canonical_json(config_snapshot()) == text


class TestBody:
    """The canonical JSON reads back as the same snapshot, and writes out the same again."""

    def test_round_trip(self) -> None:
        snapshot = config_snapshot()
        back = ConfigSnapshot.model_validate_json(snapshot.canonical_json())
        assert back == snapshot
        assert back.canonical_json() == snapshot.canonical_json()
        assert back.ref() == snapshot.ref()


class TestCatalog:
    """The catalog gives what it holds, and records and tells each miss."""

    def test_holds_what_is_added(self) -> None:
        catalog, snapshot = ConfigCatalog(), config_snapshot()
        catalog.add("cfg-a", snapshot)
        assert catalog.get("cfg-a") is snapshot and "cfg-a" in catalog

    def test_first_snapshot_of_a_digest_stays(self) -> None:
        catalog, snapshot = ConfigCatalog(), config_snapshot()
        catalog.add("cfg-a", snapshot)
        catalog.add("cfg-a", with_domains(snapshot, ["example.org"]))
        assert catalog.get("cfg-a") is snapshot

    def test_preload(self) -> None:
        catalog, snapshot = ConfigCatalog(), config_snapshot()
        catalog.preload({"cfg-a": snapshot, "cfg-b": snapshot})
        assert "cfg-a" in catalog and "cfg-b" in catalog and "cfg-c" not in catalog

    def test_a_miss_raises_and_is_recorded(self) -> None:
        """The error fails a workflow task, never the workflow: it is no Temporal failure."""
        catalog = ConfigCatalog()
        with pytest.raises(ConfigNotLoaded, match="cfg-gone") as raised:
            catalog.get("cfg-gone")
        assert raised.value.digest == "cfg-gone"
        assert isinstance(raised.value, NurtureError)
        assert not isinstance(raised.value, FailureError)
        assert catalog.missing() == ("cfg-gone",)
        catalog.add("cfg-gone", config_snapshot())
        assert catalog.missing() == ()

    def test_listeners_told_of_each_miss_from_any_thread(self) -> None:
        catalog, told = ConfigCatalog(), []
        stop = catalog.on_miss(lambda: told.append(threading.current_thread().name))

        def miss() -> None:
            with pytest.raises(ConfigNotLoaded):
                catalog.get("cfg-x")

        thread = threading.Thread(target=miss, name="workflow-thread")
        thread.start()
        thread.join()
        assert told == ["workflow-thread"]
        stop()
        miss()
        assert told == ["workflow-thread"]

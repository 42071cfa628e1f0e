"""`Pipeline.run_many`: every source run and reported, in order, a bounded number at a time."""

from __future__ import annotations

from pathlib import Path

from aggregator.config import load_config
from aggregator.pipeline import SourceReport
from aggregator.service import running_service
from tests.conftest import FIXTURES


async def test_run_many_holds_at_most_concurrency_sources(tmp_path: Path) -> None:
    """Sources waiting for their turn are not started (no task per source up front)."""
    feed = FIXTURES / "upstream" / "hzfb.xml"
    sources = "".join(
        f'[[sources]]\nid = "s{n}"\nurl = "{feed}"\ninterval = "1h"\n\n' for n in range(7)
    )
    path = tmp_path / "config.toml"
    path.write_text(
        f'[service]\ndatabase = "{tmp_path / "db.sqlite3"}"\n\n[fetch]\nconcurrency = 2\n\n'
        + sources,
        encoding="utf-8",
    )
    config = load_config(path)
    held: list[int] = []
    async with running_service(config, schedule=False) as service:

        def progress(report: SourceReport) -> None:
            held.append(len(service.pipeline.in_flight))

        reports = await service.pipeline.run_many(config.sources, progress)
    assert [r.source_id for r in reports] == [f"s{n}" for n in range(7)]
    assert [r.result for r in reports] == ["ok"] * 7
    assert len(held) == 7
    assert max(held) <= 2

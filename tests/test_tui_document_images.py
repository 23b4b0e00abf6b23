"""Belegbilder in the TUI (issue 17): the field in Ausführungsdetails follows the format,
and a run's details count the images it delivered."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.runs import RunRecord
from engine.service import Service
from engine.workspace import Workspace
from tests.test_tui_support import make_workspace, open_editor, pilot_test, settle, until
from tui.app import BuchexApp
from tui.screens.configs import ConfigListScreen
from tui.screens.protocol import detail_content, make_row
from tui.widgets.fields import BoolRow, ChoiceRow

SIZE = (120, 40)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return make_workspace(tmp_path / "home")


@pilot_test
async def test_the_field_shows_with_datev_only_and_is_off_by_default(ws: Workspace) -> None:
    app = BuchexApp(Service(ws))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ConfigListScreen) and app.screen.loaded)
        await settle(pilot)
        _, form = await open_editor(pilot)
        row = form.rows["document_images"]
        assert isinstance(row, BoolRow)
        assert row.display and row.raw() is False  # DATEV-Format is the default format
        assert row.spec.label == "Belegbilder exportieren"
        fmt = form.rows["format"]
        assert isinstance(fmt, ChoiceRow)
        fmt.select.value = "csv"
        await pilot.pause()
        await until(pilot, lambda: not form.rows["document_images"].display, "hidden for CSV")
        assert "document_images" not in form.visible_paths()
        fmt.select.value = "datev"
        await until(pilot, lambda: bool(form.rows["document_images"].display), "shown again")


def a_run_with_images() -> RunRecord:
    record = RunRecord(
        id="20261124-120000-abcd",
        config_id="stb",
        config_name="Steuerbüro",
        trigger="manual",
        started_at="2026-11-24T12:00:00+01:00",
        finished_at="2026-11-24T12:00:05+01:00",
        status="ok",
    )
    common = {"client_id": "1", "debit_cents": 0, "credit_cents": 0, "sha256": "ab" * 32}
    record.files = [
        {**common, "name": "EXTF_Buchungsstapel_1.csv", "kind": "bookings", "rows": 120,
         "size": 30_000, "journal_from": 1, "journal_to": 120},
        {**common, "name": "Belegbilder_1_20261124-120000.zip", "kind": "documents",
         "rows": 17, "size": 250_000},
        {**common, "name": "Kontrolldatei_stb.csv", "kind": "control", "rows": 0, "size": 900},
    ]  # fmt: skip
    return record


def test_run_details_count_the_images_apart_from_the_rows() -> None:
    record = a_run_with_images()
    text = detail_content(record).plain
    assert "Belegbilder    17 mit den Buchungen verknüpft" in text
    assert "Belegbilder · 17 Bilder · 250.000 B" in text
    row = make_row(record)
    assert row.cells[5] == "120"  # the Zeilen column counts bookings, not images

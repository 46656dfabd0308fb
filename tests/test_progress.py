"""Long commands print their progress (issue 14): `[command] label done/total (pct) elapsed, ~left`."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from apps.order.tests.factories import sku_for_sale
from nexuscart.observability import progress


def test_track_reports_only_inside_a_reporting_command():
    out = io.StringIO()
    assert list(progress.track([[1, 2], [3]], "items", total=3, weight=len)) == [[1, 2], [3]]  # silent

    @progress.reporting("demo", every=0, stream=out)
    def work() -> None:
        for _ in progress.track([[1, 2], [3]], "items", total=3, weight=len):
            pass
        times = progress.StepTimes()
        times["load"] = 0.5

    work()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[demo] items 2/3 (66%) ")
    assert "left" in lines[0]
    assert lines[-2].startswith("[demo] items 3/3 (100%) ")
    assert lines[-2].endswith(" done")
    assert lines[-1].startswith("[demo] load done (")


@pytest.mark.django_db
def test_search_index_prints_its_progress(settings):
    settings.SEARCH_URL = ""
    sku_for_sale()
    err, out = io.StringIO(), io.StringIO()
    call_command("search_index", "--read-model", stdout=out, stderr=err)
    assert "[search_index] read model " in err.getvalue()
    assert "(100%)" in err.getvalue()
    assert "read model rewritten" in out.getvalue()

from __future__ import annotations

import itertools
import re
import tomllib
import xml.etree.ElementTree as ET

import pytest

from resolve.procedures.schema import Procedure
from resolve.web.flowchart import BOX_WIDTH, flowchart_layout, flowchart_svg, stage_lines
from resolve.web.tests.factories import SAMPLE_PROCEDURE

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def procedure() -> Procedure:
    return Procedure.model_validate(tomllib.loads(SAMPLE_PROCEDURE))


def test_one_box_per_stage_in_ladder_order_then_cafcass(procedure):
    layout = flowchart_layout(procedure)
    assert [box.key for box in layout.boxes] == [*[stage.key for stage in procedure.stages], "cafcass"]
    for above, below in zip(layout.boxes, layout.boxes[1:], strict=False):
        assert above.bottom < below.y, "boxes must not overlap"


def test_every_box_is_tall_enough_for_its_text(procedure):
    for box in flowchart_layout(procedure).boxes:
        assert box.height >= 20 * (len(box.title) + len(box.lines))
        assert all(len(line) <= 72 for line in box.lines)


def test_not_resolved_arrows_join_neighbours(procedure):
    layout = flowchart_layout(procedure)
    downs = [arrow for arrow in layout.arrows if arrow.kind == "next"]
    assert len(downs) == len(procedure.stages) - 1
    stages = layout.boxes[: len(procedure.stages)]
    for arrow, (above, below) in zip(downs, itertools.pairwise(stages), strict=True):
        assert arrow.points == ((above.x + BOX_WIDTH // 2, above.bottom), (above.x + BOX_WIDTH // 2, below.y))


def test_reentry_loops_back_up_to_the_named_stage(procedure):
    layout = flowchart_layout(procedure)
    (loop,) = [arrow for arrow in layout.arrows if arrow.kind == "reentry"]
    start, *_, end = loop.points
    source, target = layout.box("stage_4"), layout.box("stage_3")
    assert source.y < start[1] < source.bottom
    assert target.y < end[1] < target.bottom
    assert end[0] == target.x, "the loop ends on the target's left edge"


def test_bracket_spans_the_formal_stages_and_states_the_cap(procedure):
    layout = flowchart_layout(procedure)
    assert layout.bracket is not None
    assert layout.bracket.top == layout.box("stage_1").y
    assert layout.bracket.bottom == layout.box("stage_4").bottom
    assert " ".join(layout.bracket.lines) == "Formal stages: at most 20 working days in total"


def test_no_cafcass_box_for_a_cp_only_procedure():
    data = tomllib.loads(SAMPLE_PROCEDURE)
    data["tracks"] = ["cpc"]
    layout = flowchart_layout(Procedure.model_validate(data))
    assert "cafcass" not in [box.key for box in layout.boxes]


def test_stage_lines_say_recipient_copies_timescale_meeting_documents_bypass_reentry(procedure):
    lines = stage_lines(procedure, procedure.stage("stage_4"))
    assert lines[0] == "To: Director of Children's Services"
    assert "Copied to: Head of Service, Head of Service (Safeguarding)" in lines
    assert "Response within 10 working days" in lines
    assert "Needs: Director's briefing" in lines
    assert "Starting here early needs the agreement of the IRO/CP Service Manager" in lines
    assert "If agreed actions are not delivered, re-opens at: Stage 3: Head of Service" in lines
    assert any(
        line.startswith("Meeting required:") for line in stage_lines(procedure, procedure.stage("stage_2"))
    )
    assert not any("Starting here early" in line for line in stage_lines(procedure, procedure.stages[0]))


def test_svg_is_well_formed_accessible_and_unstyled_inline(procedure):
    svg = str(flowchart_svg(procedure))
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert "Stage 4: Director of Children's Services (formal)" in (desc.text or "")
    assert "style=" not in svg
    assert len(root.findall(f"{SVG}rect")) == len(procedure.stages) + 1


def test_svg_escapes_procedure_text(procedure):
    data = tomllib.loads(SAMPLE_PROCEDURE)
    data["name"] = 'Evil <script>alert("x")</script> & co'
    data["stages"][0]["name"] = "<b>bold</b>"
    svg = str(flowchart_svg(Procedure.model_validate(data)))
    assert "<script>" not in svg and "<b>" not in svg
    ET.fromstring(svg)  # still well-formed
    assert re.search(r"&lt;b&gt;bold&lt;/b&gt;", svg)


def test_every_shipped_procedure_draws(db):
    from resolve.procedures.selectors import procedure_list, procedure_version_model

    for version in procedure_list():
        ET.fromstring(str(flowchart_svg(procedure_version_model(version))))

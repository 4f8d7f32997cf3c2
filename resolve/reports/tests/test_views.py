"""The dashboard, its links to the challenges behind each figure, and the exports."""

from __future__ import annotations

import io
import re
from html import unescape

import pytest
from docx import Document
from openpyxl import load_workbook

from resolve.audit.models import AccessLogEntry
from resolve.reports.exports import table_csv
from resolve.reports.tables import Cell, Table

pytestmark = pytest.mark.django_db

YEAR = "year=2025"


def _login(client, authority, username):
    client.force_login(authority.staff[username])
    return client


def _challenge_links(html: str) -> set[int]:
    return {int(found) for found in re.findall(r'href="/challenges/(\d+)/"', html)}


def test_the_dashboard_shows_every_figure_and_links_each_to_its_challenges(client, authority, histories):
    h = histories
    _login(client, authority, "iro_service_manager")
    page = client.get(f"/reports/?{YEAR}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "2025 to 2026" in html
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="app-chart" role="img"' in html
    # Each figure links to the list, carrying the figure and the period; the list shows just those.
    links = {unescape(link) for link in re.findall(r'href="(/challenges/\?figure=[^"]+)"', html)}
    assert any("figure=status%3Aopen" in link for link in links)
    for figure, expected, words in (
        ("status%3Aopen", {h["h2"], h["h4"]}, "Open"),
        ("past_cap", {h["h2"]}, "Past the formal limit"),
        (
            "timing%3Achallenge_and_resolution%3Ainformal%3Amissing",
            {h["h2"], h["h4"]},
            "Missing responses at Informal Process (Challenge and Resolution)",
        ),
        ("repeat%3Atheme", {h["h2"]}, "The same theme again within a year"),
        (
            "theme%3Avoice_of_child%3A0",
            {h["h1"], h["h2"]},
            "Theme: Inadequate Voice of the Child/Young Person, "
            "Quarter 1 of 2025 to 2026 (April to June 2025)",
        ),
    ):
        link = next(link for link in links if f"figure={figure}&" in link)
        listed = client.get(link)
        assert listed.status_code == 200
        assert _challenge_links(listed.content.decode()) == expected, figure
        shown = unescape(listed.content.decode())
        assert f"behind a figure of the report for 2025 to 2026: <strong>{words}</strong>" in shown, figure


def test_the_outcomes_and_learning_are_searchable_and_each_look_is_logged(client, authority, histories):
    _login(client, authority, "iro_service_manager")
    found = client.get(f"/reports/?{YEAR}&q=statutory+visit")
    assert "Record every statutory visit on the day." in found.content.decode()
    assert AccessLogEntry.objects.filter(
        user=authority.staff["iro_service_manager"], challenge_id=histories["h1"], channel="page"
    ).exists()
    missing = client.get(f"/reports/?{YEAR}&q=court")
    assert "Record every statutory visit" not in missing.content.decode()


def test_a_figure_link_with_a_bad_period_lists_nothing_and_says_why(client, authority, histories):
    _login(client, authority, "iro_service_manager")
    listed = client.get("/challenges/?figure=raised&year=nineteen")
    assert listed.status_code == 200
    assert _challenge_links(listed.content.decode()) == set()
    assert "cannot be shown" in listed.content.decode()


def test_a_bad_period_is_a_400_naming_the_field(client, authority, histories):
    _login(client, authority, "iro_service_manager")
    for query, words in (
        ("year=20x5", "four digits"),
        ("year=2025&quarter=5", "quarter 1, 2, 3 or 4"),
        ("from=2025-04-01", "both the first and the last day"),
        ("from=2025-04-01&to=2025-02-30", "real date"),
        ("track=nope", "track iro or cpc"),
    ):
        page = client.get(f"/reports/?{query}")
        assert page.status_code == 400, query
        assert words in page.content.decode(), query


def test_roles_without_reports_get_403(client, authority, histories):
    _login(client, authority, "iro")
    assert client.get("/reports/").status_code == 403
    assert client.get(f"/reports/export/summary.csv?{YEAR}").status_code == 403


def test_exports_carry_the_same_figures_and_are_logged_as_exports(client, authority, histories):
    h = histories
    _login(client, authority, "iro_service_manager")
    csv_file = client.get(f"/reports/export/summary.csv?{YEAR}")
    assert csv_file.status_code == 200
    assert csv_file["Content-Type"].startswith("text/csv")
    assert 'filename="challenge-report-summary-2025-26-' in csv_file["Content-Disposition"]
    text = csv_file.content.decode("utf-8-sig")
    assert "Raised in the period,4" in text and "Past the formal limit,1" in text

    xlsx = client.get(f"/reports/export/timeliness.xlsx?{YEAR}")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("Procedure", "Stage", "Timescale (working days)", "On time")
    informal = next(row for row in rows if row[1] == "Informal Process")
    assert informal[3:6] == (1, 0, 2)

    workbook = client.get(f"/reports/export/all.xlsx?{YEAR}")
    assert len(load_workbook(io.BytesIO(workbook.content)).sheetnames) == 10

    learning = client.get(f"/reports/export/learning.csv?{YEAR}")
    assert "Record every statutory visit on the day." in learning.content.decode("utf-8-sig")
    assert AccessLogEntry.objects.filter(challenge_id=h["h1"], channel="export").exists()

    word = client.get(f"/reports/export/annual-report.docx?{YEAR}")
    assert word.status_code == 200
    document = Document(io.BytesIO(word.content))
    text = "\n".join(paragraph.text for paragraph in document.paragraphs)
    assert "raised 4 challenges" in text
    assert "Record every statutory visit on the day." in text
    assert len(document.tables) == 7
    assert client.get(f"/reports/export/annual-report.csv?{YEAR}").status_code == 404
    assert client.get(f"/reports/export/nonsense.csv?{YEAR}").status_code == 404


def test_a_spreadsheet_never_runs_a_formula_from_a_challenge():
    table = Table("t", "T", "", ("Outcome",), ((Cell("=HYPERLINK(1)"),),))
    assert "'=HYPERLINK(1)" in table_csv(table).decode("utf-8-sig")


def test_the_menu_offers_reports_only_to_those_who_may_see_them(client, authority):
    _login(client, authority, "iro_service_manager")
    assert 'href="/reports/"' in client.get("/challenges/").content.decode()
    _login(client, authority, "iro")
    assert 'href="/reports/"' not in client.get("/challenges/").content.decode()


def test_the_learning_gives_the_day_it_was_resolved_in_words(client, authority, histories):
    _login(client, authority, "iro_service_manager")
    assert "7 May 2025" in client.get(f"/reports/?{YEAR}").content.decode()


def test_a_figure_keeps_the_reports_team_and_chair_as_the_reports(client, authority, histories):
    """A report's ``chair`` is who raised a challenge and the list's own Chair filter is the child's
    chair now: opened from a figure, the address's chair and team stay the report's (kept for the way
    back, already applied to the figure) and are not offered again as the list's filters."""
    h = histories
    _login(client, authority, "iro_service_manager")
    listed = client.get(f"/challenges/?figure=status%3Aopen&{YEAR}&chair=iro")
    html = listed.content.decode()
    assert listed.status_code == 200
    assert html.count('name="chair"') == 1 and '<input type="hidden" name="chair" value="iro">' in html
    assert 'name="team"' in html  # the report set no team: the list's own team filter is offered
    # The report's chair filter (who raised it) narrows the open ones to those the IRO raised.
    assert _challenge_links(html) == {h["h2"]}

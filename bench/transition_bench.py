"""A persisted transition against SpiffWorkflow's in-memory transition plus its JSON serialisation.

Resolve's side: challenges raised, then escalated up the national procedure's ladder (informal,
stage 1 to stage 4) and resolved; each escalation and resolution is timed, committed on its own
(state, stage visit, event, case note, outbox rows, notifications, deadlines and evidence seals), on
SQLite and, when the PostgreSQL server binaries are installed, on a throwaway PostgreSQL
(``scripts/with_postgres.py``). The statements each change runs are counted too.

The baseline, measured in the same run: SpiffWorkflow's ``Workflow`` on the same ladder (start, five
stages, resolved) as simple tasks: run the ready task, then serialise the whole workflow to JSON, as
a workflow engine must store its state after each step. For scale, the same ladder modelled as a
team building this on SpiffWorkflow would (BPMN: a user task per stage with its deadline as a timer,
completed with its reason) is timed too and printed beside it; the goal is judged against the
baseline. SpiffWorkflow is a development dependency
(``requirements-dev.in``, never installed in production); without it the baseline is reported
missing and only Resolve's own figures are printed.

A second baseline, the floor, is measured on the same database in the same run: "the same
statements run raw". For each rung of a few more ladders the change is first run inside a
transaction that is rolled back, its statements and parameters recorded as the backend receives
them; then exactly those statements are run through ``connection.cursor()`` in one transaction and
committed, on the same rows as the change found (so they write what the change would have written),
those the change ran as prepared statements (PostgreSQL) prepared alike. What separates Resolve from
the floor is Python of ours and Django's: working out the change, its people, messages, seals and
the text of its statements; what separates the floor from SpiffWorkflow is the database.

A third, for scale: the least a committed change can cost on that database through Django's cursor,
whatever the application: four statements written by hand (update a state, insert an event, a case
note and an outbox row) into four bare tables of the bench's own, in one transaction, committed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

LADDERS = 30
FLOOR_LADDERS = 10  # ladders whose rungs are replayed raw, for the floor
COUNTED = 2  # the first ladders' statements are counted, the others' transitions timed
STAGES = ("informal", "stage_1", "stage_2", "stage_3", "stage_4")
ROOT = Path(__file__).resolve().parent.parent


def _spiff_step_seconds(ladders: int) -> tuple[list[float], list[float]] | None:
    """Seconds per SpiffWorkflow step (run the ready task + serialise to JSON), elapsed and CPU, or
    None without SpiffWorkflow."""
    try:
        from SpiffWorkflow.serializer.json import JSONSerializer
        from SpiffWorkflow.specs.Simple import Simple
        from SpiffWorkflow.specs.WorkflowSpec import WorkflowSpec
        from SpiffWorkflow.util.task import TaskState
        from SpiffWorkflow.workflow import Workflow
    except ImportError:
        return None
    spec = WorkflowSpec("ladder", addstart=True)
    previous: Any = spec.start
    for name in (*STAGES, "resolved"):
        task = Simple(spec, name)
        previous.connect(task)
        previous = task
    serializer = JSONSerializer()
    times: list[float] = []
    cpu: list[float] = []
    for _ in range(ladders):
        workflow = Workflow(spec)
        while True:
            started, cpu_started = time.perf_counter(), time.process_time()
            ready = workflow.get_tasks(state=TaskState.READY)
            if not ready:
                break
            ready[0].run()
            serializer.serialize_workflow(workflow)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
    return times, cpu


def _bpmn_ladder() -> str:
    """The same ladder as BPMN: a user task per stage, each with a non-interrupting timer (its
    deadline) leading to an end of its own, then resolved."""
    parts = [
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="ladder" '
        'targetNamespace="https://resolve.invalid/bench"><bpmn:process id="ladder" isExecutable="true">'
        '<bpmn:startEvent id="start"/>'
    ]
    previous = "start"
    for index, stage in enumerate(STAGES):
        parts += [
            f'<bpmn:userTask id="{stage}" name="{stage}"/>',
            f'<bpmn:sequenceFlow id="to_{stage}" sourceRef="{previous}" targetRef="{stage}"/>',
            f'<bpmn:boundaryEvent id="due_{stage}" attachedToRef="{stage}" cancelActivity="false">'
            '<bpmn:timerEventDefinition><bpmn:timeDuration>"P20D"</bpmn:timeDuration>'
            "</bpmn:timerEventDefinition></bpmn:boundaryEvent>",
            f'<bpmn:endEvent id="late_{index}"/>',
            f'<bpmn:sequenceFlow id="late_to_{index}" sourceRef="due_{stage}" targetRef="late_{index}"/>',
        ]
        previous = stage
    parts += [
        '<bpmn:endEvent id="resolved"/>',
        f'<bpmn:sequenceFlow id="to_resolved" sourceRef="{previous}" targetRef="resolved"/>',
        "</bpmn:process></bpmn:definitions>",
    ]
    return "".join(parts)


def _spiff_bpmn_step_seconds(ladders: int) -> tuple[list[float], list[float]] | None:
    """Seconds per step of SpiffWorkflow's BPMN engine on the ladder (complete the stage's user task
    with its reason, run the engine's steps, serialise the workflow to JSON), elapsed and CPU; for
    scale beside the baseline, as a team building this on SpiffWorkflow would model it."""
    try:
        from lxml import etree
        from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
        from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
        from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
        from SpiffWorkflow.util.task import TaskState
    except ImportError:
        return None
    parser = BpmnParser()
    parser.add_bpmn_xml(etree.fromstring(_bpmn_ladder().encode()), filename="ladder.bpmn")
    spec = parser.get_spec("ladder")
    serializer = BpmnWorkflowSerializer()
    times: list[float] = []
    cpu: list[float] = []
    for _ in range(ladders):
        workflow = BpmnWorkflow(spec)
        workflow.do_engine_steps()
        while True:
            ready = workflow.get_tasks(state=TaskState.READY, manual=True)
            if not ready:
                break
            started, cpu_started = time.perf_counter(), time.process_time()
            ready[0].data.update({"reason": "Bench"})
            ready[0].run()
            workflow.do_engine_steps()
            serializer.serialize_json(workflow)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
    return times, cpu


def _raised(authority: Any, case_number: str, on: dt.date) -> Any:
    """A new child of the demo authority's IRO with a challenge raised at the ladder's foot."""
    from resolve.challenges import services
    from resolve.children.services import child_create

    child = child_create(
        user=authority.staff["admin"],
        case_number=case_number,
        first_name="Bench",
        last_name=case_number,
        date_of_birth=dt.date(2014, 3, 9),
        social_worker="social_worker",
        iro="iro",
        cp_chair="cp_chair",
    )
    return services.challenge_raise(
        user=authority.staff["iro"], child=child, track="iro", concern="Bench", impact_on_child="Bench", on=on
    )


def _step(services: Any, user: Any, challenge_id: int, *, last: bool, on: dt.date) -> None:
    """One rung up the ladder (escalate), or off its top (resolve), committed."""
    if last:
        services.challenge_resolve(user=user, challenge_id=challenge_id, outcome="Bench", on=on)
    else:
        services.challenge_escalate(user=user, challenge_id=challenge_id, reason="Bench", on=on)


def _figures(times: list[float], cpu: list[float], statements: list[int]) -> dict[str, Any]:
    """The median, 90th percentile and CPU of each rung in ms, with the most statements one ran."""
    return {
        "median_ms": statistics.median(times) * 1000,
        "p90_ms": sorted(times)[int(len(times) * 0.9)] * 1000,
        # This process's CPU only (on SQLite, all of it; PostgreSQL's server is not counted): steadier
        # than the elapsed time on a busy machine.
        "cpu_ms": statistics.median(cpu) * 1000,
        "statements": max(statements),
        "transitions": len(times),
    }


def _rungs(prefix: str, ladders: int) -> Iterator[tuple[int, Any, int, bool, dt.date]]:
    """Each rung of ``ladders`` ladders, each raised for a child of its own (case numbers from
    ``prefix``): the ladder's number, the IRO who moves it, the challenge, whether it is the last
    rung (resolve) and the day."""
    from resolve.people.demo import authority_build

    authority = authority_build(password=None)
    iro = authority.staff["iro"]
    on = dt.date.today()
    for index in range(ladders):
        challenge = _raised(authority, f"{prefix}{index:05d}", on)
        for step in range(len(STAGES)):
            yield index, iro, challenge.pk, step == len(STAGES) - 1, on


def _resolve_transitions(ladders: int) -> dict[str, Any]:
    """Seconds and statements per committed transition, on the database Django is set up with."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from resolve.challenges import services

    times: list[float] = []
    cpu: list[float] = []
    statements: list[int] = []
    for index, iro, challenge_id, last, on in _rungs("BENCH", ladders):
        if index < COUNTED:
            # Counted, not timed: capturing the statements costs time of its own.
            with CaptureQueriesContext(connection) as captured:
                _step(services, iro, challenge_id, last=last, on=on)
            statements.append(len(captured.captured_queries))
            continue
        started, cpu_started = time.perf_counter(), time.process_time()
        _step(services, iro, challenge_id, last=last, on=on)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    return _figures(times, cpu, statements)


_SKIPPED = ("BEGIN", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")


def _recorded(services: Any, user: Any, challenge_id: int, *, last: bool, on: dt.date) -> list[Any]:
    """The statements (SQL, parameters, many) one rung runs, recorded in a transaction rolled back,
    so that the challenge is as it was."""
    from django.db import connection, transaction

    recorded: list[Any] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if not sql.lstrip().upper().startswith(_SKIPPED):
            # Whether the change ran it as a prepared statement (PostgreSQL: ``resolve.core.kept``).
            prepared = getattr(connection.connection, "prepare_threshold", None) == 0
            recorded.append((sql, params, many, prepared))
        return execute(sql, params, many, context)

    # Rolled back to a savepoint, not as a whole: psycopg forgets its prepared statements when a
    # transaction is rolled back, and the floor would then prepare afresh what the change reuses.
    with transaction.atomic(), transaction.atomic():
        with connection.execute_wrapper(record):
            _step(services, user, challenge_id, last=last, on=on)
        transaction.set_rollback(True)
    return recorded


def _floor(ladders: int) -> dict[str, Any]:
    """Seconds per rung for the same statements run raw: recorded from the change, then run through
    ``connection.cursor()`` in one transaction and committed, in place of the change."""
    from django.db import connection, transaction

    from resolve.challenges import services
    from resolve.core.kept import preparing

    times: list[float] = []
    cpu: list[float] = []
    statements: list[int] = []
    for _, iro, challenge_id, last, on in _rungs("FLOOR", ladders):
        recorded = _recorded(services, iro, challenge_id, last=last, on=on)
        statements.append(len(recorded) + 2)  # with BEGIN and COMMIT, as the change is counted
        started, cpu_started = time.perf_counter(), time.process_time()
        with transaction.atomic(), connection.cursor() as cursor:
            for sql, params, many, prepared in recorded:
                if many:
                    cursor.executemany(sql, params)
                elif prepared:  # prepared as the change prepared it
                    with preparing():
                        cursor.execute(sql, params)
                    cursor.fetchall()
                else:
                    cursor.execute(sql, params)
                    if cursor.description is not None:
                        cursor.fetchall()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    return _figures(times, cpu, statements)


# Four bare tables for the least a committed change can cost (``_least``), made and dropped by it.
_LEAST_TABLES = (
    "CREATE TABLE bench_least_challenge (id INTEGER PRIMARY KEY, stage VARCHAR(40) NOT NULL, "
    "version INTEGER NOT NULL)",
    "CREATE TABLE bench_least_event (id {auto} PRIMARY KEY, challenge_id INTEGER NOT NULL, "
    "kind VARCHAR(40) NOT NULL, data TEXT NOT NULL)",
    "CREATE INDEX bench_least_event_challenge ON bench_least_event (challenge_id)",
    "CREATE TABLE bench_least_note (id {auto} PRIMARY KEY, challenge_id INTEGER NOT NULL, "
    "text TEXT NOT NULL)",
    "CREATE INDEX bench_least_note_challenge ON bench_least_note (challenge_id)",
    "CREATE TABLE bench_least_outbox (id {auto} PRIMARY KEY, recipient VARCHAR(200) NOT NULL, "
    "subject VARCHAR(200) NOT NULL, body TEXT NOT NULL)",
)
LEAST_CHANGES = 500


def _least(changes: int) -> dict[str, Any]:
    """Seconds per change of four statements written by hand (the state, an event, a case note and an
    outbox row) in one transaction through ``connection.cursor()``, committed: what any application
    pays this database for a committed change, before its own work."""
    from django.db import connection, transaction

    auto = "BIGSERIAL" if connection.vendor == "postgresql" else "INTEGER"
    tables = ("challenge", "event", "note", "outbox")
    times: list[float] = []
    cpu: list[float] = []
    with connection.cursor() as cursor:
        for statement in _LEAST_TABLES:
            cursor.execute(statement.format(auto=auto))
        cursor.executemany(
            "INSERT INTO bench_least_challenge (id, stage, version) VALUES (%s, %s, 0)",
            [(number, "informal") for number in range(1, 101)],
        )
        try:
            for number in range(changes):
                challenge = number % 100 + 1
                started, cpu_started = time.perf_counter(), time.process_time()
                with transaction.atomic():
                    cursor.execute(
                        "UPDATE bench_least_challenge SET stage = %s, version = version + 1 WHERE id = %s",
                        (STAGES[number % len(STAGES)], challenge),
                    )
                    cursor.execute(
                        "INSERT INTO bench_least_event (challenge_id, kind, data) VALUES (%s, %s, %s)",
                        (challenge, "escalated", json.dumps({"to": STAGES[number % len(STAGES)]})),
                    )
                    cursor.execute(
                        "INSERT INTO bench_least_note (challenge_id, text) VALUES (%s, %s)",
                        (challenge, "Escalated: the statutory visit is still not done."),
                    )
                    cursor.execute(
                        "INSERT INTO bench_least_outbox (recipient, subject, body) VALUES (%s, %s, %s)",
                        ("team_manager@resolve.invalid", "A challenge was escalated", "Bench"),
                    )
                times.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
        finally:
            for table in tables:
                # Our own table names, never a request's.
                cursor.execute(f"DROP TABLE bench_least_{table}")  # nosec B608
    return _figures(times, cpu, [6] * len(times))  # with BEGIN and COMMIT


def _postgres() -> dict[str, Any] | None:
    """The same measurement in a child process against a throwaway PostgreSQL, or None."""
    from bench.postgres import figures_on_postgres

    return figures_on_postgres(__file__, "--here")


def _line(name: str, figures: dict[str, Any], baseline_ms: float | None) -> str:
    ratio = f"{figures['median_ms'] / baseline_ms:7.1f}x" if baseline_ms else "    n/a"
    return (
        f"  {name:<40} median {figures['median_ms']:7.2f} ms  p90 {figures['p90_ms']:7.2f} ms  "
        f"CPU {figures['cpu_ms']:6.2f} ms  at most {figures['statements']:2d} statements  "
        f"{ratio} the baseline"
    )


def _floor_lines(
    database: str,
    resolve: dict[str, Any],
    floor: dict[str, Any],
    least: dict[str, Any],
    baseline_ms: float | None,
) -> None:
    """The floor on one database (the same statements run raw), the least any committed change costs
    there, and Resolve against the floor."""
    print(_line(f"  the same statements run raw ({floor['transitions']})", floor, baseline_ms))
    print(_line("  four statements by hand, for scale", least, baseline_ms))
    print(
        f"  {database}, Resolve against the same statements run raw: "
        f"{resolve['median_ms'] / floor['median_ms']:.1f}x elapsed, "
        f"{resolve['cpu_ms'] / floor['cpu_ms']:.1f}x CPU "
        f"(ours: {resolve['median_ms'] - floor['median_ms']:.2f} ms of {resolve['median_ms']:.2f})"
    )


def run() -> None:
    spiff = _spiff_step_seconds(LADDERS * 10)
    baseline_ms = statistics.median(spiff[0]) * 1000 if spiff else None
    baseline_cpu_ms = statistics.median(spiff[1]) * 1000 if spiff else None
    if baseline_ms is None or baseline_cpu_ms is None:
        print(
            "  Baseline missing: SpiffWorkflow is not installed (make setup installs requirements-dev.txt)."
        )
    else:
        print(
            f"  {'SpiffWorkflow step + JSON (baseline)':<40} median {baseline_ms:7.3f} ms  "
            f"CPU {baseline_cpu_ms:6.3f} ms"
        )
    bpmn = _spiff_bpmn_step_seconds(LADDERS * 2)
    bpmn_ms = statistics.median(bpmn[0]) * 1000 if bpmn else None
    if bpmn is not None and bpmn_ms is not None:
        print(
            f"  {'SpiffWorkflow BPMN ladder, for scale':<40} median {bpmn_ms:7.3f} ms  "
            f"CPU {statistics.median(bpmn[1]) * 1000:6.3f} ms  (user tasks with deadline timers)"
        )
    sqlite = _resolve_transitions(LADDERS)
    print(_line(f"Resolve on SQLite ({sqlite['transitions']} transitions)", sqlite, baseline_ms))
    if baseline_cpu_ms:
        print(f"  SQLite, CPU against CPU: {sqlite['cpu_ms'] / baseline_cpu_ms:.1f}x the baseline")
    _floor_lines("SQLite", sqlite, _floor(FLOOR_LADDERS), _least(LEAST_CHANGES), baseline_ms)
    postgres = _postgres()
    if postgres is None:
        print("  PostgreSQL: not measured (no server binaries; see scripts/with_postgres.py)")
    else:
        print(_line(f"Resolve on PostgreSQL ({postgres['transitions']} transitions)", postgres, baseline_ms))
        _floor_lines("PostgreSQL", postgres, postgres["floor"], postgres["least"], baseline_ms)
    if bpmn_ms is not None:
        scale = [f"SQLite {sqlite['median_ms'] / bpmn_ms:.1f}x"]
        if postgres is not None:
            scale.append(f"PostgreSQL {postgres['median_ms'] / bpmn_ms:.1f}x")
        print(f"  Against the BPMN ladder (for scale): {', '.join(scale)}")
    print("  Goal: at most 1.0x the baseline on SQLite and 2.0x on PostgreSQL.")


def _here() -> None:
    """Run Resolve's side against DATABASE_URL (set by scripts/with_postgres.py) and print JSON."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    figures = _resolve_transitions(LADDERS)
    figures["floor"] = _floor(FLOOR_LADDERS)
    figures["least"] = _least(LEAST_CHANGES)
    print(json.dumps(figures))


if __name__ == "__main__":
    if sys.argv[1:] == ["--here"]:
        _here()
    else:
        print("Run through bench/run.py: .venv/bin/python bench/run.py transition")

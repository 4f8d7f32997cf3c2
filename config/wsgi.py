import logging
import os

from django.core.wsgi import get_wsgi_application
from django.db import DatabaseError, connections
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
# Import every route now (the API's schemas are built as its module loads, about a second): with
# gunicorn's preload_app the workers are forked with them loaded, and otherwise each worker loads
# them as it starts, not while a person waits on its first request.
get_resolver().url_patterns  # noqa: B018

# The apps are ready only now.
from resolve.calendars.services import working_calendar  # noqa: E402
from resolve.calendars.types import Nation  # noqa: E402
from resolve.procedures.models import PolicyVersion  # noqa: E402
from resolve.procedures.selectors import procedure_version_model  # noqa: E402

logger = logging.getLogger(__name__)


def warm() -> None:
    """Build what a process otherwise builds in its first request that needs it: each procedure
    version's parsed model and the working-day calendar of each nation they name (about 10 ms of CPU
    together). With preload_app it is done once, before the workers are forked, so no worker's first
    requests (nor those queued behind them) wait for it. The connection used is closed before the
    fork: a worker must not share its parent's. Without a database (yet), each process builds them
    when first needed, as before."""
    try:
        nations = set()
        for version in PolicyVersion.objects.all():
            nations.add(Nation(procedure_version_model(version).nation))
        for nation in nations:
            working_calendar(nation)
    except DatabaseError:
        logger.warning("The procedures and calendars were not read ahead: the database did not answer.")
    finally:
        connections.close_all()


warm()

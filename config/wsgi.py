import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
# Import every route now (the API's schemas are built as its module loads, about a second): with
# gunicorn's preload_app the workers are forked with them loaded, and otherwise each worker loads
# them as it starts, not while a person waits on its first request.
get_resolver().url_patterns  # noqa: B018

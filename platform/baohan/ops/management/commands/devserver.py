"""``devserver``: Django's development server (``runserver``, static files included) with a listen
queue for bursts, as ``make run`` (``devrun``) starts it.

``runserver`` listens with a queue of 10 pending connections: fifty callers at once (a payment
confirmed from three channels, a double-clicking crowd) get connections reset. The queue here
holds ``DEVSERVER_LISTEN_QUEUE`` (128) of them; the threads that answer take their database
connections from the process's pool (``DATABASE_POOL_MAX_SIZE``), so a burst waits its turn
instead of opening a connection per caller.
"""

from __future__ import annotations

import os

from django.contrib.staticfiles.management.commands.runserver import Command as RunserverCommand
from django.core.servers.basehttp import WSGIServer


class BurstWSGIServer(WSGIServer):
    request_queue_size = int(os.environ.get("DEVSERVER_LISTEN_QUEUE", "128"))


class Command(RunserverCommand):
    help = "Django's development server with a listen queue for bursts (make run)."
    server_cls = BurstWSGIServer

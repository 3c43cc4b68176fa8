"""gunicorn's settings for Waihu (deploy/systemd/waihu-web.service, docker-compose.yml)."""

import os

bind = os.environ.get("WAIHU_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WAIHU_WEB_WORKERS", "4"))
# A request is cut off well after the database's own statement timeout would have ended it.
timeout = 60
graceful_timeout = 30
# Waihu logs each request itself (one line, numbers masked); gunicorn's access log would
# repeat it with the query string whole.
accesslog = None
errorlog = "-"
forwarded_allow_ips = os.environ.get("WAIHU_FORWARDED_ALLOW_IPS", "127.0.0.1")


def child_exit(server, worker):
    """A gunicorn worker that ends leaves its counts to the host's metrics (multiprocess
    mode); its live gauges are dropped."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

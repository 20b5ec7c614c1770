"""`python -m perennial_worker`: polls the `perennial-python` task queue until SIGINT/SIGTERM.

Reads TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE (default `default`)
and PERENNIAL_PYTHON_TASK_QUEUE (default `perennial-python`); PERENNIAL_PYTHON_TRAININGS
bounds how many trainings run at once (default 1: a fit takes every core it is given).
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal

from temporalio.client import Client
from temporalio.worker import Worker

from .train import start_fork_server, train

TASK_QUEUE = "perennial-python"
# perennial's LOG_LEVEL names (pino's) as Python's.
LOG_LEVELS = {"trace": logging.DEBUG, "debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
              "error": logging.ERROR, "fatal": logging.CRITICAL, "silent": logging.CRITICAL + 10}


async def main() -> None:
    level = LOG_LEVELS.get(os.environ.get("LOG_LEVEL", "info"), logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s python-worker %(levelname)s %(message)s")
    address = os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233")
    namespace = os.environ.get("TEMPORAL_NAMESPACE", "default")
    queue = os.environ.get("PERENNIAL_PYTHON_TASK_QUEUE", TASK_QUEUE)
    trainings = int(os.environ.get("PERENNIAL_PYTHON_TRAININGS", "1"))
    start_fork_server()
    client = await Client.connect(address, namespace=namespace)
    worker = Worker(client, task_queue=queue, activities=[train], max_concurrent_activities=trainings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        logging.info("polling %s on %s (namespace %s)", queue, address, namespace)
        await stop.wait()
        logging.info("shutting down")


if __name__ == "__main__":
    asyncio.run(main())
    logging.shutdown()
    # Every attempt's fit process was killed as its activity ended; a poll of its pipe may still
    # be waiting in an executor thread for up to a heartbeat's time: leave without waiting for it.
    os._exit(0)
